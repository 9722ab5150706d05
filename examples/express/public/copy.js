/*
 * Copy buttons: every `button[data-copy]` (hidden in the markup, so a page
 * without JavaScript shows none) copies its `data-copy` text to the
 * clipboard and says so in the element named by `data-status` (a live
 * region). Without JavaScript, or where the browser refuses the clipboard,
 * the text stays on the page to select and copy by hand. Same-origin file:
 * the CSP allows no inline script.
 */
'use strict';

(function () {
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var status = document.getElementById(button.getAttribute('data-status') || '');
    function say(text) {
      if (status) status.textContent = text;
    }
    if (!navigator.clipboard || typeof navigator.clipboard.writeText !== 'function') return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(button.getAttribute('data-copy') || '').then(
        function () {
          say('Copied to the clipboard.');
        },
        function () {
          say('Your browser did not allow copying: select the text and copy it by hand.');
        },
      );
    });
  });
})();
