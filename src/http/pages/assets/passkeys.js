// The hosted pages' passkey glue, served after @simplewebauthn/browser's bundle as
// /account/passkeys.js. Every page works without it: without JavaScript the passkey offers stay
// hidden. A passkey form carries its ceremony's options (`data-options`, made by the server for
// this page) and a hidden `credential` field; on submit this asks the browser for the passkey,
// puts the answer (JSON) in the field and submits the form as usual, so the server answers a
// page, as for every other form. Nothing is fetched: the options came with the page.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  var supported = !!(lib && lib.browserSupportsWebAuthn());

  // Offers ("Sign in with a passkey") appear only where a passkey can be used.
  document.querySelectorAll('[data-passkey-offer]').forEach(function (el) {
    if (supported) el.hidden = false;
  });

  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    var field = form.querySelector('input[name="credential"]');
    var status = form.querySelector('[data-passkey-status]');
    var button = form.querySelector('button[type="submit"]');
    var say = function (text) {
      if (!status) return;
      status.textContent = text;
      status.hidden = false;
    };
    if (!supported) {
      say(form.getAttribute('data-unsupported') || '');
      return;
    }
    var options;
    try {
      options = JSON.parse(form.getAttribute('data-options') || '');
    } catch (e) {
      return;
    }
    // The button shows once it can do something (it is hidden without this script).
    if (button) button.hidden = false;
    var busy = false;
    form.addEventListener('submit', function (event) {
      if (field.value) return;
      event.preventDefault();
      if (busy) return;
      // A name the form asks for (a new passkey's) is checked by the browser first.
      if (!form.reportValidity()) return;
      busy = true;
      if (status) status.hidden = true;
      var ceremony = form.getAttribute('data-passkey') === 'create'
        ? lib.startRegistration({ optionsJSON: options })
        : lib.startAuthentication({ optionsJSON: options });
      ceremony.then(function (credential) {
        field.value = JSON.stringify(credential);
        form.submit();
      }, function () {
        // Cancelled, timed out, or no passkey for this site: say so; the button tries again.
        busy = false;
        say(form.getAttribute('data-cancelled') || '');
      });
    });
  });
})();
