"""Latent sliders: move latent coordinates and watch the decoder redraw its digit, with or without Python.

The book's signature widget, in two versions (defined in the chapter on exploring the latent space):

- :class:`LatentSliders` (:func:`dimension_sliders`, :func:`interpolation_slider`) decodes **any**
  slider setting in the reader's browser, with no kernel and no network. Its HTML carries the
  decoder's weights (base64, in a ``<script type="text/plain">``; the big output layer in
  float16, the small rest in float32) and a hand-written
  JavaScript forward pass, ReLU(W₁ z + b₁) then sigmoid(W₂ h + b₂), that draws onto a
  ``<canvas>``. It works on the static site and in a trusted notebook (JupyterLab runs the
  scripts of outputs only in notebooks the reader executed). Several widgets on a page can
  share one copy of the weights (``include_weights=False`` on all but the first). Its display
  bundle also holds a PNG of the starting digit, which PDF and LaTeX builds show instead.
- :class:`LiveLatentSliders` (:func:`live_dimension_sliders`) are ipywidgets sliders whose values go
  back to Python: a callback decodes with PyTorch and updates an ``ipywidgets.Image`` (live
  Jupyter only; on a static page it would stay frozen).

:class:`DecoderWeights` repeats the browser's arithmetic in NumPy, so tests can check the page.

>>> from vae_lib.models import VAE
>>> model = VAE(latent_dim=4, hidden_dim=8)
>>> sliders = dimension_sliders(model, [0.1, -0.2, 0.3, 0.0], dims=[0, 2])
>>> sliders.labels, sliders.values
(('dimension 0 of z', 'dimension 2 of z'), (0.1, 0.3))
>>> bundle = sliders._repr_mimebundle_()
>>> sorted(bundle), "<canvas" in bundle["text/html"]
(['image/png', 'text/html', 'text/plain'], False)
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image

from vae_lib.i18n import tr
from vae_lib.latent import decode
from vae_lib.models import VAE

__all__ = [
    "DecoderWeights",
    "LatentSliders",
    "LiveLatentSliders",
    "dimension_sliders",
    "interpolation_slider",
    "live_dimension_sliders",
    "digit_png",
    "eight_bit",
    "SCRIPT",
]

#: Pixels on screen per image pixel (a 28 × 28 digit shows as 168 × 168).
DISPLAY_SCALE = 6


# --------------------------------------------------------------------------- the decoder, as the browser sees it


@dataclass(frozen=True)
class DecoderWeights:
    """An MLP decoder's weights as the page carries them, and the browser's forward pass in NumPy.

    The output layer's weight, almost all of the numbers, travels in float16 (half the bytes; it
    changes a pixel probability by a few 1e-4 at most); the first layer and the biases are few
    and travel in float32, which keeps the error of the code's projection out of the picture.

    Attributes:
        hidden_weight: ``[hidden, latent]`` float32; hidden_bias ``[hidden]`` float32.
        out_bias: ``[pixels]`` float32.
        out_weight_t: the output layer's weight, transposed, float16: ``[hidden, pixels]`` (one
            row per hidden unit, so the browser can skip the units ReLU switched off).
        image_shape: ``(height, width)``.
    """

    hidden_weight: np.ndarray
    hidden_bias: np.ndarray
    out_bias: np.ndarray
    out_weight_t: np.ndarray
    image_shape: tuple[int, int]

    @classmethod
    def from_model(cls, model: VAE) -> DecoderWeights:
        """The weights of ``model``'s decoder (an ``"mlp"`` VAE with one channel), rounded for the page."""
        config = model.config
        if config.architecture != "mlp" or config.image_shape[0] != 1:
            raise ValueError(f"Latent sliders draw with an MLP decoder of one-channel images; this model is "
                             f"{config.architecture!r} with image shape {config.image_shape}.")
        decoder = model.decoder

        def as_numpy(tensor: torch.Tensor, dtype: str) -> np.ndarray:
            return np.ascontiguousarray(tensor.detach().cpu().numpy().astype(dtype))

        return cls(as_numpy(decoder.hidden.weight, "<f4"), as_numpy(decoder.hidden.bias, "<f4"),
                   as_numpy(decoder.out.bias, "<f4"), as_numpy(decoder.out.weight.T, "<f2"),
                   tuple(config.image_shape[1:]))

    @property
    def latent_dim(self) -> int:
        return self.hidden_weight.shape[1]

    @property
    def shapes(self) -> dict[str, int]:
        """The sizes the browser needs to cut the weights apart."""
        hidden, latent = self.hidden_weight.shape
        return {"latent": latent, "hidden": hidden, "pixels": self.out_bias.shape[0],
                "height": self.image_shape[0], "width": self.image_shape[1]}

    def to_bytes(self) -> bytes:
        """All weights, little-endian, row-major: W₁, b₁, b₂ in float32, then W₂ᵀ in float16."""
        singles = (self.hidden_weight, self.hidden_bias, self.out_bias)
        return (b"".join(np.ascontiguousarray(p, dtype="<f4").tobytes() for p in singles)
                + np.ascontiguousarray(self.out_weight_t, dtype="<f2").tobytes())

    @property
    def key(self) -> str:
        """A short fingerprint of the weights: widgets find their shared weights on a page by it."""
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]

    def decode(self, z: np.ndarray | Sequence[float]) -> np.ndarray:
        """The browser's forward pass in float64: pixel probabilities ``[..., pixels]`` for codes ``[..., latent]``.

        >>> from vae_lib.models import VAE
        >>> DecoderWeights.from_model(VAE(latent_dim=2, hidden_dim=8)).decode([0.0, 1.0]).shape
        (784,)
        """
        z = np.asarray(z, dtype=np.float64)
        hidden = np.maximum(z @ self.hidden_weight.T.astype(np.float64) + self.hidden_bias, 0.0)
        logits = hidden @ self.out_weight_t.astype(np.float64) + self.out_bias
        return 1.0 / (1.0 + np.exp(-logits))


def eight_bit(probabilities: np.ndarray) -> np.ndarray:
    """Grey levels 0–255 as the canvas gets them: ⌊255 p + ½⌋ (JavaScript's ``Math.round``)."""
    return np.floor(255.0 * np.asarray(probabilities, dtype=np.float64) + 0.5).astype(np.uint8)


def digit_png(probabilities: np.ndarray, image_shape: tuple[int, int] = (28, 28), scale: int = 1) -> bytes:
    """A grey-level PNG (white ink on black, as MNIST) of one image's pixel probabilities, enlarged ``scale`` times.

    >>> digit_png(np.zeros(784))[:4] == b"\\x89PNG"
    True
    """
    pixels = eight_bit(probabilities).reshape(image_shape)
    image = Image.fromarray(pixels, mode="L")
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # fast: the live sliders encode one per move
    return buffer.getvalue()


# --------------------------------------------------------------------------- the static widget

#: The JavaScript every widget carries, hand-written: the forward pass and the page wiring. It
#: finds its own widget as the parent of the script that is running, never by a global id (the
#: same output can appear twice on a page, and JupyterLab rewrites ids), and caches each
#: decoder's weights by key.
SCRIPT = r"""
(function () {
  const root = document.currentScript.parentElement;
  const key = root.dataset.decoder, config = JSON.parse(root.dataset.config);
  const cache = (window.vaeLatentDecoders = window.vaeLatentDecoders || {});
  function half(h) {  // IEEE float16 bits -> number
    const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 31, fraction = h & 1023;
    if (exponent === 0) return sign * fraction * Math.pow(2, -24);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * Math.pow(2, exponent - 15);
  }
  function load() {
    if (cache[key]) return cache[key];
    const source = [...document.querySelectorAll('script[type="text/plain"][data-vae-decoder]')]
      .find((s) => s.dataset.vaeDecoder === key);
    if (!source) return null;
    const s = JSON.parse(source.dataset.shapes);
    const bytes = Uint8Array.from(atob(source.textContent.trim()), (c) => c.charCodeAt(0));
    const singles = new Float32Array(bytes.buffer, 0, s.hidden * s.latent + s.hidden + s.pixels);
    const halves = new Uint16Array(bytes.buffer, singles.byteLength, s.hidden * s.pixels);
    let at = 0;
    const take = (n) => singles.subarray(at, (at += n));  // W1, b1, b2 (float32), then W2 (float16)
    return (cache[key] = {s, w1: take(s.hidden * s.latent), b1: take(s.hidden), b2: take(s.pixels),
                          w2t: Float32Array.from(halves, half)});
  }
  function forward(net, z) {
    const {latent, hidden, pixels} = net.s, out = Float64Array.from(net.b2);
    for (let i = 0; i < hidden; i++) {
      let h = net.b1[i];
      for (let j = 0; j < latent; j++) h += net.w1[i * latent + j] * z[j];
      if (h <= 0) continue;  // ReLU: this unit adds nothing
      const row = net.w2t.subarray(i * pixels, (i + 1) * pixels);
      for (let p = 0; p < pixels; p++) out[p] += row[p] * h;
    }
    return Float32Array.from(out, (logit) => 1 / (1 + Math.exp(-logit)));
  }
  const note = root.querySelector('.vae-ls-activate'), net = load();
  if (!net) { note.textContent = root.dataset.missing; return; }
  note.remove();
  const picture = root.querySelector('.vae-ls-picture'), canvas = document.createElement('canvas');
  canvas.width = net.s.width; canvas.height = net.s.height; canvas.className = 'vae-ls-canvas';
  canvas.style.cssText = picture.style.cssText;
  canvas.setAttribute('role', 'img');  // read out by its label, which follows the sliders
  picture.replaceWith(canvas);
  const context = canvas.getContext('2d'), inputs = [...root.querySelectorAll('input[type="range"]')];
  function redraw() {
    const start = performance.now(), z = Float64Array.from(config.base);
    inputs.forEach((input, k) => {
      const value = parseFloat(input.value);
      input.nextElementSibling.textContent = value.toFixed(2);
      config.directions[k].forEach((a, j) => { z[j] += value * a; });
    });
    const values = forward(net, z), image = context.createImageData(net.s.width, net.s.height);
    values.forEach((v, p) => {
      const grey = Math.round(255 * v);
      image.data.set([grey, grey, grey, 255], 4 * p);
    });
    context.putImageData(image, 0, 0);
    canvas.setAttribute('aria-label', root.dataset.alt + ' ' + inputs.map((input) =>
        input.getAttribute('aria-label') + ' = ' + parseFloat(input.value).toFixed(2)).join(', ') + '.');
    root.vaeZ = z; root.vaeDecoded = values;  // for tests: the last code and its pixel probabilities
    root.vaeRedrawMs = performance.now() - start; root.vaeRedraws = (root.vaeRedraws || 0) + 1;
  }
  inputs.forEach((input) => input.addEventListener('input', redraw));
  redraw();
})();
"""


@dataclass(frozen=True)
class LatentSliders:
    """Sliders over a line, plane or box of latent space, decoded in the browser: z = base + Σ_k s_k · a_k.

    Built by :func:`dimension_sliders` (slider k sets one coordinate) or :func:`interpolation_slider`
    (one slider walks from one code to another). Display it as a cell's last value.

    Attributes:
        weights: the decoder's :class:`DecoderWeights`.
        base: the code with every slider at 0, ``[latent]``.
        directions: ``a_k``, one row per slider, ``[sliders, latent]``.
        labels, lows, highs, values: each slider's label, range and starting value.
        step: the slider step.
        include_weights: carry the weights in this output; ``False`` when an earlier output of the
            same page shows sliders of the same decoder (the page then holds them once).
        caption: an optional line of text above the sliders.
    """

    weights: DecoderWeights
    base: tuple[float, ...]
    directions: tuple[tuple[float, ...], ...]
    labels: tuple[str, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    values: tuple[float, ...]
    step: float = 0.01
    include_weights: bool = True
    caption: str = ""

    def z(self, values: Sequence[float] | None = None) -> np.ndarray:
        """The latent code for slider ``values`` (default: the starting values), float64 ``[latent]``."""
        values = self.values if values is None else values
        return np.asarray(self.base, dtype=np.float64) + np.asarray(values, dtype=np.float64) @ np.asarray(
            self.directions, dtype=np.float64)

    def weights_html(self) -> str:
        """The ``<script type="text/plain">`` that carries the decoder's weights (base64 of :meth:`DecoderWeights.to_bytes`)."""
        data = base64.b64encode(self.weights.to_bytes()).decode("ascii")
        shapes = html.escape(json.dumps(self.weights.shapes))
        return (f'<script type="text/plain" data-vae-decoder="{self.weights.key}" data-shapes="{shapes}">'
                f"{data}</script>")

    def picture_alt(self, values: Sequence[float] | None = None) -> str:
        """What the picture shows, for a reader who cannot see it (the canvas's label says the same)."""
        values = self.values if values is None else values
        settings = ", ".join(f"{label} = {value:.2f}" for label, value in zip(self.labels, values))
        return f"{tr('The digit the decoder draws at')} {settings}."

    def html(self) -> str:
        """The self-contained HTML: weights (optional), starting picture, sliders, script."""
        config = html.escape(json.dumps({"base": list(self.base), "directions": [list(a) for a in self.directions]}))
        png = base64.b64encode(digit_png(self.weights.decode(self.z()), self.weights.image_shape)).decode("ascii")
        size = [DISPLAY_SCALE * n for n in self.weights.image_shape]
        style = f"width:{size[1]}px;height:{size[0]}px;image-rendering:pixelated;border:1px solid #bbb"
        rows = "".join(
            f'<label style="display:flex;align-items:center;gap:0.6em;margin:0.15em 0">'
            f'<span style="min-width:8.5em">{html.escape(label)}</span>'
            f'<input type="range" min="{low:g}" max="{high:g}" step="{self.step:g}" value="{value:.6g}" '
            f'aria-label="{html.escape(label)}" style="width:16em">'
            f'<output style="font-family:monospace;min-width:3.5em">{value:.2f}</output></label>'
            for label, low, high, value in zip(self.labels, self.lows, self.highs, self.values))
        caption = f'<p style="margin:0 0 0.4em 0">{html.escape(self.caption)}</p>' if self.caption else ""
        texts = {"alt": tr("The digit the decoder draws at"),  # the script's words, in the reader's language
                 "missing": tr("The decoder weights are missing: run the cell that shows the first sliders of "
                               "this model.")}
        activate = tr("To move the sliders, run this cell: Jupyter runs the script of an output only in a "
                      "notebook you executed yourself.")
        return (f'<div class="vae-latent-sliders" data-decoder="{self.weights.key}" data-config="{config}" '
                f'data-alt="{html.escape(texts["alt"])}" data-missing="{html.escape(texts["missing"])}" '
                f'style="margin:0.5em 0">'
                f'{self.weights_html() if self.include_weights else ""}{caption}'
                f'<div style="display:flex;flex-wrap:wrap;align-items:center;gap:1.5em">'
                f'<img class="vae-ls-picture" alt="{html.escape(self.picture_alt())}" style="{style}" '
                f'src="data:image/png;base64,{png}"><div>{rows}</div></div>'
                f'<p class="vae-ls-activate" style="font-size:smaller;color:#666;margin:0.3em 0 0 0">{html.escape(activate)}</p>'
                f"<script>{SCRIPT}</script></div>")

    def fallback_png(self) -> bytes:
        """The starting digit as a PNG, for builds that cannot run the script (PDF, LaTeX)."""
        return digit_png(self.weights.decode(self.z()), self.weights.image_shape, scale=4)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        # The same as IPython.display.display({"text/html": ..., "image/png": ...}, raw=True).
        return {"text/html": self.html(), "image/png": base64.b64encode(self.fallback_png()).decode("ascii"),
                "text/plain": repr(self)}

    def __repr__(self) -> str:
        return (f"LatentSliders({len(self.labels)} sliders over a {self.weights.latent_dim}-D latent space, "
                f"decoded in the browser; weights {'included' if self.include_weights else 'shared'})")


def _dimension_axes(z: Sequence[float], dims: Sequence[int], span: float, labels: Sequence[str] | None):
    """Base code, directions, labels and starting values of sliders that each set one coordinate of z."""
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    dims = [int(d) for d in dims]
    if not dims or len(set(dims)) != len(dims) or not all(0 <= d < z.size for d in dims):
        raise ValueError(f"dims must list distinct latent dimensions between 0 and {z.size - 1}, got {dims}.")
    if labels is not None and len(labels) != len(dims):
        raise ValueError(f"Give one label per slider: {len(dims)} dims but {len(labels)} labels.")
    if not span > 0:
        raise ValueError(f"span must be positive (sliders run from -span to +span), got {span!r}.")
    base = z.copy()
    base[dims] = 0.0
    directions = np.eye(z.size)[dims]
    starts = tuple(float(np.clip(round(z[d], 2), -span, span)) for d in dims)
    names = tuple(labels) if labels is not None else tuple(tr("dimension {d} of z", d=str(d)) for d in dims)
    return base, directions, names, starts


def dimension_sliders(model: VAE, z: Sequence[float], dims: Sequence[int], *, span: float = 3.0, step: float = 0.01,
                   labels: Sequence[str] | None = None, include_weights: bool = True,
                   caption: str = "") -> LatentSliders:
    """One browser-decoded slider per chosen latent dimension; the other coordinates stay at ``z``.

    Args:
        model: an ``"mlp"`` :class:`~vae_lib.models.VAE`.
        z: the code the sliders start from (e.g. a test digit's posterior mean), ``[latent_dim]``.
        dims: the dimensions that get a slider (e.g. those with the most KL).
        span: each slider runs from −span to +span (3: three prior standard deviations).
        step: the slider step.
        labels: one plain-text label per slider (default ``"dimension j of z"``).
        include_weights: ``False`` if an earlier output on the page carries this decoder's weights.
        caption: optional text above the sliders.
    """
    base, directions, names, starts = _dimension_axes(z, dims, span, labels)
    return LatentSliders(DecoderWeights.from_model(model), tuple(base.tolist()),
                         tuple(tuple(a.tolist()) for a in directions), names, (-span,) * len(names),
                         (span,) * len(names), starts, step, include_weights, caption)


def interpolation_slider(model: VAE, z_start: Sequence[float], z_end: Sequence[float], *, start: float = 0.0,
                         step: float = 0.01, label: str = "ω (start to end)", include_weights: bool = True,
                         caption: str = "") -> LatentSliders:
    """One browser-decoded slider ω ∈ [0, 1] along the straight line z(ω) = (1 − ω) z_start + ω z_end.

    >>> from vae_lib.models import VAE
    >>> interpolation_slider(VAE(latent_dim=2), [0.0, 0.0], [2.0, -2.0], start=0.25).z()
    array([ 0.5, -0.5])
    """
    z_start = np.asarray(z_start, dtype=np.float64).reshape(-1)
    z_end = np.asarray(z_end, dtype=np.float64).reshape(-1)
    if z_start.shape != z_end.shape:
        raise ValueError(f"The two codes must have the same length, got {z_start.size} and {z_end.size}.")
    if not 0.0 <= start <= 1.0:
        raise ValueError(f"start must lie in [0, 1], got {start!r}.")
    return LatentSliders(DecoderWeights.from_model(model), tuple(z_start.tolist()),
                         (tuple((z_end - z_start).tolist()),), (label,), (0.0,), (1.0,), (float(start),), step,
                         include_weights, caption)


# --------------------------------------------------------------------------- the live widget


class LiveLatentSliders(widgets.VBox):
    """ipywidgets sliders whose values go to Python, which decodes with PyTorch and redraws an Image.

    Attributes:
        sliders: one ``FloatSlider`` per chosen dimension.
        image: the ``ipywidgets.Image`` showing the decoded digit (a PNG).
        latencies: seconds each redraw took in Python (decode + PNG encoding), most recent last.
    """

    def __init__(self, model: VAE, base: np.ndarray, directions: np.ndarray, labels: Sequence[str],
                 span: float, step: float, starts: Sequence[float]):
        self.model, self.base, self.directions = model, base, directions
        self.sliders = [widgets.FloatSlider(value=v, min=-span, max=span, step=step, description=label,
                                            continuous_update=True, readout_format=".2f",
                                            style={"description_width": "110px"})
                        for label, v in zip(labels, starts)]
        height, width = model.config.image_shape[1:]
        self.image = widgets.Image(format="png", width=DISPLAY_SCALE * width, height=DISPLAY_SCALE * height)
        self.latencies: list[float] = []
        self.redraw()
        for slider in self.sliders:
            slider.observe(self.redraw, names="value")
        super().__init__([widgets.HBox([self.image, widgets.VBox(self.sliders)])])

    def z(self) -> np.ndarray:
        """The latent code the sliders set now, ``[latent_dim]``."""
        return self.base + np.array([s.value for s in self.sliders]) @ self.directions

    def probabilities(self) -> np.ndarray:
        """The decoded pixel probabilities for :meth:`z`, flat ``[pixels]`` (float32 PyTorch decoder)."""
        return decode(self.model, torch.as_tensor(self.z(), dtype=torch.float32)).numpy().reshape(-1)

    def redraw(self, _change=None) -> None:
        """Decode the current code and show it (the sliders' callback)."""
        start = time.perf_counter()
        png = digit_png(self.probabilities(), tuple(self.model.config.image_shape[1:]), scale=DISPLAY_SCALE)
        self.image.value = png
        self.latencies.append(time.perf_counter() - start)


def live_dimension_sliders(model: VAE, z: Sequence[float], dims: Sequence[int], *, span: float = 3.0,
                        step: float = 0.05, labels: Sequence[str] | None = None) -> LiveLatentSliders:
    """Python-driven sliders (live Jupyter only), one per chosen dimension, as :func:`dimension_sliders`.

    >>> from vae_lib.models import VAE
    >>> live = live_dimension_sliders(VAE(latent_dim=3, hidden_dim=8), [0.0, 0.5, 0.0], dims=[1])
    >>> before = live.image.value
    >>> live.sliders[0].value = 2.0
    >>> live.image.value != before, len(live.latencies)
    (True, 2)
    """
    base, directions, names, starts = _dimension_axes(z, dims, span, labels)
    return LiveLatentSliders(model, base, directions, names, span, step, starts)
