/*
 * The example's one script of its own: wires the security-key forms.
 *
 * Every form with `data-webauthn` ("get": use a key, "create": add one)
 * carries the server's options as JSON in `data-options`. On submit this
 * script runs the ceremony with @simplewebauthn/browser (loaded before it
 * from /assets/simplewebauthn-browser.js, the global SimpleWebAuthnBrowser),
 * puts the browser's answer, as JSON, in the form's hidden `response` field
 * and submits the form, CSRF token and all, like any other form: the server
 * answers with a page. Nothing runs inline (the CSP allows script files from
 * this origin only), and nothing is written as HTML (textContent only).
 */
'use strict';

(function () {
  var lib = window.SimpleWebAuthnBrowser;
  var forms = document.querySelectorAll('form[data-webauthn]');

  function say(form, text) {
    var status = form.querySelector('[data-webauthn-status]');
    if (!status) return;
    status.textContent = text;
    status.hidden = text === '';
  }

  /** A sentence for a failed ceremony (the browser's errors, as @simplewebauthn/browser names them). */
  function explain(error, ceremony) {
    var code = error && error.code;
    var name = (error && error.name) || '';
    if (code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || (ceremony === 'create' && name === 'InvalidStateError')) {
      return 'That security key is already on your account. Use another one.';
    }
    if (code === 'ERROR_CEREMONY_ABORTED' || name === 'NotAllowedError' || name === 'AbortError') {
      return 'No answer from a security key: it was cancelled or took too long. Try again.';
    }
    if (name === 'SecurityError' || code === 'ERROR_INVALID_DOMAIN' || code === 'ERROR_INVALID_RP_ID') {
      return 'Your browser refused: security keys work only on this site\u2019s own address.';
    }
    return 'Your browser could not use a security key here' + (error && error.message ? ': ' + error.message : '.');
  }

  forms.forEach(function (form) {
    var button = form.querySelector('button[type="submit"]');
    var ceremony = form.getAttribute('data-webauthn');
    if (!lib || !lib.browserSupportsWebAuthn()) {
      say(form, 'This browser does not support security keys or passkeys.' + (ceremony === 'get' ? ' Enter a code instead.' : ''));
      if (button) button.disabled = true;
      return;
    }
    var busy = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      if (button) button.disabled = true;
      say(form, ceremony === 'create' ? 'Follow your browser: insert and touch your key, or create a passkey.' : 'Follow your browser: touch your security key, or confirm with your passkey.');
      var optionsJSON = JSON.parse(form.getAttribute('data-options'));
      var ceremonyDone = ceremony === 'create' ? lib.startRegistration({ optionsJSON: optionsJSON }) : lib.startAuthentication({ optionsJSON: optionsJSON });
      ceremonyDone.then(
        function (answer) {
          form.elements.namedItem('response').value = JSON.stringify(answer);
          say(form, 'Checking\u2026');
          // form.submit() fires no submit event: the page is posted once, as it is.
          form.submit();
        },
        function (error) {
          busy = false;
          if (button) button.disabled = false;
          say(form, explain(error, ceremony));
        },
      );
    });
  });
})();
