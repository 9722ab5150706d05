/*
 * The recovery-codes page (shown once): a Print button (hidden in the
 * markup, so a page without JavaScript shows none), and a warning before the
 * page is left (reload, Back, closing the tab, a link) until "I have saved
 * my recovery codes" is pressed: after that the codes cannot be shown again.
 * Same-origin file: the CSP allows no inline script.
 */
'use strict';

(function () {
  var form = document.getElementById('codes-saved-form');
  if (!form) return;
  var saved = false;
  form.addEventListener('submit', function () {
    saved = true;
  });
  window.addEventListener('beforeunload', function (event) {
    if (saved) return;
    // Browsers show their own words ("Leave site? Changes you made may not be saved").
    event.preventDefault();
    event.returnValue = '';
  });

  var print = document.getElementById('print-codes');
  if (print && typeof window.print === 'function') {
    print.hidden = false;
    print.addEventListener('click', function () {
      window.print();
    });
  }
})();
