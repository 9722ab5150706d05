/**
 * Type-level tests (issue 12), checked by `npm test` through vitest's
 * typecheck: results narrow on `ok` and on `reason`, every reason union can
 * be switched over exhaustively, and a `Proof` holds exactly one kind.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type {
  BeginEnrollmentResult,
  DisableResult,
  LockCause,
  MfaEvent,
  Proof,
  ProofFailure,
  StartLoginResult,
  UnlockResult,
  VerifyLoginResult,
  VerifyStepUpResult,
} from 'twofold';
import type { WebAuthnPlugin } from 'twofold/webauthn';

declare const login: VerifyLoginResult;
declare const start: StartLoginResult;

describe('results narrow on ok and on reason', () => {
  it('verifyLogin: ok gives userId and method, locked gives retryAt', () => {
    if (login.ok) {
      expectTypeOf(login.userId).toEqualTypeOf<string>();
      expectTypeOf(login.method).toEqualTypeOf<'totp' | 'recovery_code' | 'webauthn'>();
      expectTypeOf(login.recoveryCodesRemaining).toEqualTypeOf<number>();
    } else if (login.reason === 'locked') {
      expectTypeOf(login.retryAt).toEqualTypeOf<number | null>();
    } else {
      expectTypeOf(login).not.toHaveProperty('userId');
    }
  });

  it('startLogin: a session only on mfaRequired false; the locked result still says mfaRequired true', () => {
    if (!start.mfaRequired) {
      expectTypeOf(start.ok).toEqualTypeOf<true>();
    } else if (start.ok) {
      expectTypeOf(start.challenge).toEqualTypeOf<string>();
    } else {
      expectTypeOf(start.reason).toEqualTypeOf<'locked'>();
    }
  });

  it('verifyStepUp: a grant only on ok', () => {
    const result = {} as VerifyStepUpResult;
    if (result.ok) expectTypeOf(result.grant).toEqualTypeOf<string>();
    else expectTypeOf(result).not.toHaveProperty('grant');
  });
});

/** Compiles only if every member of the union is handled. */
function assertNever(value: never): never {
  throw new Error(String(value));
}

describe('every reason union is exhaustive in a switch', () => {
  it('ProofFailure', () => {
    const describeFailure = (reason: ProofFailure): string => {
      switch (reason) {
        case 'malformed':
        case 'invalid_code':
        case 'replayed':
        case 'invalid_credential':
        case 'step_up_invalid':
        case 'step_up_expired':
        case 'locked':
        case 'not_enrolled':
          return reason;
        default:
          return assertNever(reason);
      }
    };
    expectTypeOf(describeFailure).returns.toEqualTypeOf<string>();
  });

  it('BeginEnrollmentResult, DisableResult and UnlockResult failures', () => {
    const begin = (r: BeginEnrollmentResult): string => {
      if (r.ok) return 'ok';
      switch (r.reason) {
        case 'already_enabled':
        case 'proof_required':
        case 'locked':
        case 'malformed':
        case 'invalid_code':
        case 'replayed':
        case 'invalid_credential':
        case 'step_up_invalid':
        case 'step_up_expired':
        case 'not_enrolled':
          return r.reason;
        default:
          return assertNever(r);
      }
    };
    const disable = (r: DisableResult): string => (r.ok ? r.method : r.reason);
    const unlock = (r: UnlockResult): string => {
      if (r.ok) return 'ok';
      switch (r.reason) {
        case 'not_locked':
          return r.reason;
        case 'cause_mismatch':
          expectTypeOf(r.cause).toEqualTypeOf<LockCause>();
          return r.cause;
        default:
          return assertNever(r);
      }
    };
    expectTypeOf(begin).returns.toEqualTypeOf<string>();
    expectTypeOf(disable).returns.toEqualTypeOf<string>();
    expectTypeOf(unlock).returns.toEqualTypeOf<string>();
  });

  it('MfaEvent by type', () => {
    const subject = (event: MfaEvent): string => {
      switch (event.type) {
        case 'login.succeeded':
          return event.method === 'remembered_device' ? event.deviceId : String(event.recoveryCodesRemaining);
        case 'account.locked':
          expectTypeOf(event.cause).toEqualTypeOf<LockCause>();
          return event.cause;
        default:
          return event.type;
      }
    };
    expectTypeOf(subject).returns.toEqualTypeOf<string>();
  });
});

describe('a Proof holds exactly one kind', () => {
  it('accepts each kind alone and refuses two together', () => {
    expectTypeOf({ totp: '123456' }).toExtend<Proof>();
    expectTypeOf({ recoveryCode: 'ABCD-EFGH' }).toExtend<Proof>();
    expectTypeOf({ stepUp: 'g1.x' }).toExtend<Proof>();
    expectTypeOf({ totp: '123456', recoveryCode: 'ABCD-EFGH' }).not.toExtend<Proof>();
    expectTypeOf({ totp: '123456', stepUp: 'g1.x' }).not.toExtend<Proof>();
    // @ts-expect-error: a code and a recovery code at once is not a Proof
    const both: Proof = { totp: '123456', recoveryCode: 'ABCD-EFGH' };
    void both;
  });

  it('the webauthn entry types resolve', () => {
    expectTypeOf<WebAuthnPlugin['plugin']>().toEqualTypeOf<'twofold/webauthn'>();
  });
});
