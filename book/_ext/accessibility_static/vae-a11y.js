// Accessibility repairs on every page of the site (book/_ext/accessibility.py, issue 19).
//
// The ipywidgets HTML manager draws a slider's handle as <div role="slider"> with no accessible
// name, and its value text is noUiSlider's number rather than the read-out the reader sees. Here
// each handle is named by its widget's description (aria-labelledby its label) and its
// aria-valuetext follows the read-out. Widgets render after the page has loaded, and the value
// changes with every move, so a MutationObserver keeps both right.
(function () {
  'use strict';
  let labels = 0;
  let queued = false;

  function repairSlider(handle) {
    const slider = handle.closest('.widget-slider');
    if (!slider) return;
    const label = slider.querySelector('.widget-label');
    if (label && label.textContent.trim() && !handle.hasAttribute('aria-labelledby')) {
      if (!label.id) label.id = 'vae-slider-label-' + (++labels);
      handle.setAttribute('aria-labelledby', label.id);
    }
    const readout = slider.querySelector('.widget-readout');
    const shown = readout ? readout.textContent.trim() : '';
    if (shown && handle.getAttribute('aria-valuetext') !== shown) handle.setAttribute('aria-valuetext', shown);
  }

  function repairAll() {
    queued = false;
    document.querySelectorAll('.widget-slider .noUi-handle[role="slider"]').forEach(repairSlider);
  }

  function queue() {
    if (!queued) {
      queued = true;
      Promise.resolve().then(repairAll);
    }
  }

  function start() {
    repairAll();
    new MutationObserver(queue).observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ['aria-valuetext'],
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
