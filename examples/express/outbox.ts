/**
 * Where the example "sends" email: an in-memory list shown at /dev/outbox in
 * development. A real host would queue these for an email provider instead
 * (twofold awaits onEvent, so slow sending belongs in a queue).
 */

export interface Email {
  to: string;
  subject: string;
  text: string;
  /** When it was sent, ms since epoch. */
  at: number;
}

/** Oldest emails are dropped beyond this, so a long demo cannot grow memory without bound. */
const MAX_EMAILS = 500;

export class Outbox {
  readonly #now: () => number;
  readonly #emails: Email[] = [];

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  send(email: Omit<Email, 'at'>): void {
    this.#emails.push({ ...email, at: this.#now() });
    if (this.#emails.length > MAX_EMAILS) this.#emails.shift();
  }

  /** Every email, oldest first. */
  list(): readonly Email[] {
    return [...this.#emails];
  }

  /** Emails to one address, oldest first. */
  to(address: string): Email[] {
    return this.#emails.filter((email) => email.to === address);
  }
}
