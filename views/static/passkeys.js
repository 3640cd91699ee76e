// Passkey ceremonies for the forms marked data-passkey. Without this script (or without WebAuthn
// in the browser) those forms stay hidden and the password works as before. Options come from the
// form's data-options attribute: the page carries no inline script.
'use strict';
(function () {
  var webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) return;
  var error = document.querySelector('[data-passkey-error]');
  var unsupported = document.querySelector('[data-passkey-unsupported]');
  if (unsupported) unsupported.hidden = true;

  Array.prototype.forEach.call(document.querySelectorAll('form[data-passkey]'), function (form) {
    var optionsJSON = JSON.parse(form.getAttribute('data-options'));
    var field = form.querySelector('input[name="response"]');
    var button = form.querySelector('[data-passkey-start]');
    form.hidden = false;

    function send(response) {
      field.value = JSON.stringify(response);
      form.submit();
    }
    function fail(reason) {
      // a ceremony replaced by another (the button pressed while autofill waits) is no failure
      if (reason && (reason.name === 'AbortError' || reason.code === 'ERROR_CEREMONY_ABORTED')) return;
      if (!error) return;
      error.textContent = form.getAttribute('data-failed');
      error.hidden = false;
    }

    if (form.getAttribute('data-passkey') === 'register') {
      button.addEventListener('click', function () {
        if (!form.reportValidity()) return;
        webauthn.startRegistration({ optionsJSON: optionsJSON }).then(send, fail);
      });
      return;
    }
    button.addEventListener('click', function () {
      webauthn.startAuthentication({ optionsJSON: optionsJSON }).then(send, fail);
    });
    if (form.hasAttribute('data-autofill')) {
      webauthn.browserSupportsWebAuthnAutofill().then(function (supported) {
        if (supported) webauthn.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: true }).then(send, fail);
      });
    }
  });
})();
