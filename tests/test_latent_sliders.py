"""The latent sliders: the HTML bundle, its JavaScript decoder in Chromium, and the live ipywidgets version.

Three levels:

1. Python only: the float16 weights and the NumPy mirror of the browser's forward pass agree
   with the PyTorch decoder; the bundle holds what a page needs (and a PNG for PDF builds).
2. Chromium (headless, through Playwright, launched as ``tests/test_site.py`` does): a page
   built from the Python functions in a temporary folder, with no book build. Two sliders are
   moved with the keyboard; the digit the page computed must match the PyTorch decoder for the
   same z (max abs difference below 1e-3 on the probabilities) and the canvas must hold exactly
   their 8-bit rounding. With ``VAE_BOOK_SITE`` set, the built chapter page is checked too. The
   redraw time per slider move is measured and printed in the test summary (never asserted).
3. A real Jupyter kernel (``jupyter_client``): the live sliders are driven as a front end would
   drive them, by a widget ``update`` message on the slider's comm, and the image the kernel
   sends back must change and show the decoder's digit for the new z.
"""

from __future__ import annotations

import base64
import functools
import html as html_lib
import http.server
import io
import json
import os
import re
import statistics
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import vae_lib.widgets.latent_sliders as ls
from conftest import SITE_REPORT
from vae_lib.latent import decode
from vae_lib.models import VAE
from vae_lib.widgets.latent_sliders import (DecoderWeights, digit_png, dimension_sliders, eight_bit,
                                            interpolation_slider, live_dimension_sliders)

REPO = Path(__file__).resolve().parents[1]
LATENT_DIM = 6
START_Z = [0.4, -1.2, 0.05, 2.1, -0.3, 0.9]


def _model(seed: int = 0, latent_dim: int = LATENT_DIM, hidden_dim: int = 64) -> VAE:
    """A small MLP VAE with larger-than-initial weights, so that the digit changes visibly with z."""
    torch.manual_seed(seed)
    model = VAE(latent_dim=latent_dim, hidden_dim=hidden_dim).eval()
    with torch.no_grad():
        model.decoder.hidden.weight.mul_(2.0)
        model.decoder.out.weight.mul_(2.0)
    return model


def _torch_probabilities(model: VAE, z) -> np.ndarray:
    return decode(model, torch.as_tensor(np.asarray(z), dtype=torch.float32)).numpy().reshape(-1)


def _png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


# ----------------------------------------------------------------------------- Python only


def test_the_numpy_mirror_of_the_browser_matches_the_pytorch_decoder():
    model = _model()
    weights = DecoderWeights.from_model(model)
    z = np.random.default_rng(0).normal(size=(50, LATENT_DIM)) * 1.5
    mirror, exact = weights.decode(z), _torch_probabilities(model, z).reshape(50, -1)
    assert exact.std() > 0.1, "the test model should draw more than a grey blur"
    error = np.abs(mirror - exact).max()
    assert 0 < error < 1e-3, error  # float16 weights: a small error, not none


def test_the_weights_travel_little_endian_in_order_with_a_float16_output_layer():
    model = _model()
    weights = DecoderWeights.from_model(model)
    decoder = model.decoder
    raw = weights.to_bytes()
    singles = decoder.hidden.weight.numel() + decoder.hidden.bias.numel() + decoder.out.bias.numel()
    np.testing.assert_array_equal(
        np.frombuffer(raw[:4 * singles], dtype="<f4"),
        np.concatenate([decoder.hidden.weight.detach().numpy().ravel(), decoder.hidden.bias.detach().numpy(),
                        decoder.out.bias.detach().numpy()]))
    np.testing.assert_array_equal(np.frombuffer(raw[4 * singles:], dtype="<f2"),
                                  decoder.out.weight.detach().numpy().T.ravel().astype(np.float16))
    assert weights.shapes == {"latent": LATENT_DIM, "hidden": 64, "pixels": 784, "height": 28, "width": 28}
    assert weights.key == DecoderWeights.from_model(model).key != DecoderWeights.from_model(_model(seed=1)).key


def test_dimension_sliders_hold_the_other_coordinates_at_the_starting_code():
    sliders = dimension_sliders(_model(), START_Z, dims=[3, 1], span=2.0)
    assert sliders.values == (2.0, -1.2)  # 2.1 is clipped to the slider's range
    z = sliders.z([0.5, -0.25])
    expected = np.array(START_Z)
    expected[[3, 1]] = [0.5, -0.25]
    np.testing.assert_allclose(z, expected)
    assert sliders.labels == ("dimension 3 of z", "dimension 1 of z")


def test_the_interpolation_slider_walks_the_straight_line():
    a, b = np.array(START_Z), -np.array(START_Z) + 1.0
    slider = interpolation_slider(_model(), a, b)
    for t in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(slider.z([t]), (1 - t) * a + t * b)


def test_the_bundle_carries_weights_once_a_script_and_a_pdf_fallback():
    model = _model()
    first = dimension_sliders(model, START_Z, dims=[0, 3])
    second = interpolation_slider(model, START_Z, np.zeros(LATENT_DIM), include_weights=False)
    bundle = first._repr_mimebundle_()
    page = bundle["text/html"]
    assert page.count('<script type="text/plain" data-vae-decoder=') == 1
    assert 'data-vae-decoder=' not in second.html() and f'data-decoder="{first.weights.key}"' in second.html()
    assert page.count('<input type="range"') == 2 and "document.currentScript" in page
    assert not re.search(r'\sid="', page), "the widget must not rely on element ids"
    assert "run this cell" in page
    payload = re.search(r'data-vae-decoder="\w+" data-shapes="[^"]*">([A-Za-z0-9+/=]+)</script>', page).group(1)
    assert base64.b64decode(payload) == first.weights.to_bytes()
    config = json.loads(html_lib.unescape(re.search(r'data-config="([^"]*)"', page).group(1)))
    np.testing.assert_allclose(np.array(config["base"]) + np.array(first.values) @ np.array(config["directions"]),
                               first.z())
    # The PDF build's picture: the starting digit, enlarged.
    fallback = _png_pixels(base64.b64decode(bundle["image/png"]))
    np.testing.assert_array_equal(fallback[::4, ::4], eight_bit(first.weights.decode(first.z())).reshape(28, 28))


def test_the_script_stays_small():
    assert len(ls.SCRIPT.encode()) < 4000  # the whole decoder and page wiring, hand-written


def test_bad_arguments_say_what_to_do():
    model = _model()
    with pytest.raises(ValueError, match="distinct latent dimensions between 0 and 5"):
        dimension_sliders(model, START_Z, dims=[0, 0])
    with pytest.raises(ValueError, match="one label per slider"):
        dimension_sliders(model, START_Z, dims=[0, 1], labels=["only one"])
    with pytest.raises(ValueError, match="MLP decoder"):
        dimension_sliders(VAE(latent_dim=2, architecture="conv"), [0.0, 0.0], dims=[0])
    with pytest.raises(ValueError, match="same length"):
        interpolation_slider(model, START_Z, [0.0, 1.0])


def test_digit_png_rounds_like_the_canvas():
    probabilities = np.linspace(0, 1, 784)
    pixels = _png_pixels(digit_png(probabilities, scale=2))
    np.testing.assert_array_equal(pixels[::2, ::2].ravel(), np.floor(255 * probabilities + 0.5))


def test_live_sliders_redraw_the_decoders_digit_in_python():
    model = _model()
    live = live_dimension_sliders(model, START_Z, dims=[1, 4])
    before = live.image.value
    live.sliders[0].value = 1.5
    expected = np.array(START_Z)
    expected[[1, 4]] = [1.5, -0.3]
    np.testing.assert_allclose(live.z(), expected)
    assert live.image.value != before and len(live.latencies) == 2
    pixels = _png_pixels(live.image.value)[:: ls.DISPLAY_SCALE, :: ls.DISPLAY_SCALE]
    np.testing.assert_array_equal(pixels.ravel(), eight_bit(_torch_probabilities(model, expected)))


# ----------------------------------------------------------------------------- Chromium


def _find_chromium() -> str | None:
    import shutil

    for candidate in (os.environ.get("VAE_BOOK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="module")
def browser():
    executable = _find_chromium()
    if executable is None:
        pytest.skip("No Chromium found, so the latent sliders' JavaScript was not run. Install it "
                    "(Debian/Ubuntu: `apt-get install chromium`) or set VAE_BOOK_CHROMIUM=/path/to/chrome.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder on 127.0.0.1 (a page from a server, as a reader gets it); yields a URL maker."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()


# What one widget shows after its sliders moved: its code, decoded values and canvas pixels.
_WIDGET_STATE = """
(root) => {
  const canvas = root.querySelector('canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  return {
    z: Array.from(root.vaeZ), decoded: Array.from(root.vaeDecoded),
    grey: Array.from(pixels).filter((_, i) => i % 4 === 0), alpha: Math.min(...Array.from(pixels).filter((_, i) => i % 4 === 3)),
    sliders: [...root.querySelectorAll('input[type="range"]')].map((input) => input.value),
    note: !!root.querySelector('.vae-ls-activate'), picture: !!root.querySelector('img.vae-ls-picture'),
    role: canvas.getAttribute('role'), label: canvas.getAttribute('aria-label'),
  };
}
"""


#: How long a page may take to load: generous, as in test_site.py (a busy 2-core machine is
#: slow); it only bounds a real hang. The widgets need the page's "load", not network idleness.
PAGE_TIMEOUT_MS = 240_000


def _open(browser, url: str):
    page = browser.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("request", lambda request: problems.append(f"request to another host: {request.url}")
            if not request.url.startswith(("http://127.0.0.1", "data:")) else None)
    page.goto(url, wait_until="load")
    return page, problems


def _move_sliders(page, root, moves: dict[int, int]) -> list[float]:
    """Press the arrow keys on some sliders ({slider: presses, negative for left}); the redraw time of each press."""
    times = []
    inputs = root.query_selector_all('input[type="range"]')
    for index, presses in moves.items():
        inputs[index].focus()
        for _ in range(abs(presses)):
            before = root.evaluate("(el) => el.vaeRedraws")
            page.keyboard.press("ArrowRight" if presses > 0 else "ArrowLeft")
            assert root.evaluate("(el) => el.vaeRedraws") == before + 1, "a slider move did not redraw the digit"
            times.append(root.evaluate("(el) => el.vaeRedrawMs"))
    return times


def _check_widget(state: dict, mirror: DecoderWeights, expected_z: np.ndarray, exact: np.ndarray | None) -> float:
    """Compare what the page shows with Python; returns the max difference from the exact decoder (or the mirror)."""
    np.testing.assert_allclose(state["z"], expected_z, rtol=0, atol=1e-12)
    decoded = np.array(state["decoded"], dtype=np.float32)
    assert np.abs(decoded - mirror.decode(expected_z)).max() < 1e-6, "the page's arithmetic differs from its mirror"
    reference = mirror.decode(expected_z) if exact is None else exact
    error = float(np.abs(decoded - reference).max())
    assert error < 1e-3, f"the page's digit differs from the Python decoder's by {error:.2e}"
    np.testing.assert_array_equal(np.array(state["grey"], dtype=np.uint8), eight_bit(decoded),
                                  err_msg="the canvas does not hold the 8-bit rounding of the decoded values")
    assert state["alpha"] == 255 and not state["note"] and not state["picture"]
    return error


def _report(request, line: str) -> None:
    request.config.stash.setdefault(SITE_REPORT, []).append(line)


def test_sliders_decode_any_setting_in_chromium_like_the_python_decoder(tmp_path, browser, serve, request):
    model = _model()
    dims = [0, 3, 5]
    sliders = dimension_sliders(model, START_Z, dims=dims, caption="three dimensions")
    shared = interpolation_slider(model, START_Z, np.zeros(LATENT_DIM), include_weights=False)
    # The same output twice, then a widget that borrows the weights: each must find its own elements.
    body = sliders.html() + sliders.html() + shared.html()
    (tmp_path / "index.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>")
    page, problems = _open(browser, serve(tmp_path) + "/index.html")
    roots = page.query_selector_all(".vae-latent-sliders")
    assert len(roots) == 3

    moves = [{0: 7, 2: -12}, {1: -25}, {0: 40}]
    times, errors = [], []
    for root, widget, move in zip(roots, (sliders, sliders, shared), moves):
        start = root.evaluate(_WIDGET_STATE)
        times += _move_sliders(page, root, move)
        state = root.evaluate(_WIDGET_STATE)
        values = [float(v) for v in state["sliders"]]
        for index, presses in move.items():
            assert values[index] == pytest.approx(widget.values[index] + presses * widget.step)
        expected_z = widget.z(values)
        errors.append(_check_widget(state, widget.weights, expected_z, _torch_probabilities(model, expected_z)))
        assert state["grey"] != start["grey"], "moving the sliders did not change the picture"
        # A screen reader hears what the picture now shows (the label follows the sliders).
        assert state["role"] == "img" and state["label"] == widget.picture_alt(values), state["label"]
    # The second copy of the first widget did not move when the first one did (no shared ids).
    assert roots[1].evaluate(_WIDGET_STATE)["sliders"][0] == f"{sliders.values[0]:g}"
    page.close()
    assert not problems, problems
    _report(request, f"latent sliders in Chromium: redraw {statistics.median(times):.2f} ms per slider move "
                     f"(median of {len(times)}, max {max(times):.2f} ms), max |JS − PyTorch| {max(errors):.1e}")


def test_a_widget_without_its_weights_says_where_they_are(tmp_path, browser, serve):
    lonely = dimension_sliders(_model(), START_Z, dims=[0], include_weights=False)
    (tmp_path / "index.html").write_text(f"<!doctype html><html><body>{lonely.html()}</body></html>")
    page, problems = _open(browser, serve(tmp_path) + "/index.html")
    note = page.query_selector(".vae-ls-activate").inner_text()
    page.close()
    assert "weights are missing" in note and not problems


def test_the_script_speaks_the_language_the_widget_was_made_in(tmp_path, browser, serve, monkeypatch):
    """The words the script writes (the canvas's label, the missing-weights note) come from the
    widget's HTML, so a widget made with VAE_LIB_LANG=zh_CN reads Chinese in the browser too."""
    monkeypatch.setenv("VAE_LIB_LANG", "zh_CN")
    model = _model()
    sliders = dimension_sliders(model, START_Z, dims=[0, 3])
    lonely = dimension_sliders(_model(seed=1), START_Z, dims=[0], include_weights=False)  # another decoder
    (tmp_path / "index.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'></head>"
                                         f"<body>{sliders.html()}{lonely.html()}</body></html>", encoding="utf-8")
    page, problems = _open(browser, serve(tmp_path) + "/index.html")
    roots = page.query_selector_all(".vae-latent-sliders")
    state = roots[0].evaluate(_WIDGET_STATE)
    note = roots[1].query_selector(".vae-ls-activate").inner_text()
    page.close()
    assert not problems, problems
    assert state["label"] == sliders.picture_alt() and state["label"].startswith("解码器"), state["label"]
    assert note.startswith("缺少解码器的权重"), note


CHAPTER_PAGE = "chapters/10_latent_space.html"


def test_the_built_chapter_page_decodes_in_the_browser(browser, serve, request):
    """On the built chapter (``VAE_BOOK_SITE``): every latent-slider widget decodes as its embedded weights say."""
    site = os.environ.get("VAE_BOOK_SITE")
    if not site:
        pytest.skip("Set VAE_BOOK_SITE=/path/to/_build/html to check the built chapter page.")
    source = (Path(site) / CHAPTER_PAGE).read_text(encoding="utf-8")
    weights = {key: _weights_from_page(shapes, data) for key, shapes, data in re.findall(
        r'<script type="text/plain" data-vae-decoder="(\w+)" data-shapes="([^"]*)">([A-Za-z0-9+/=\s]+)</script>', source)}
    page, problems = _open(browser, f"{serve(Path(site))}/{CHAPTER_PAGE}")
    # The theme's own scripts may complain while the page loads (e.g. a THEBE_JS_URL declared
    # twice); the widgets' start-up is checked below, and any error from here on is ours.
    problems[:] = [problem for problem in problems if not problem.startswith("script error")]
    roots = page.query_selector_all(".vae-latent-sliders")
    assert roots, "the chapter shows no latent sliders"
    times = []
    for root in roots:
        root.scroll_into_view_if_needed()
        key, config = root.evaluate("(el) => [el.dataset.decoder, JSON.parse(el.dataset.config)]")
        count = len(config["directions"])
        times += _move_sliders(page, root, {0: 9, count - 1: -6} if count > 1 else {0: 9})
        state = root.evaluate(_WIDGET_STATE)
        values = np.array([float(v) for v in state["sliders"]])
        expected_z = np.array(config["base"]) + values @ np.array(config["directions"])
        _check_widget(state, weights[key], expected_z, exact=None)
    page.close()
    assert not problems, problems
    _report(request, f"{CHAPTER_PAGE}: {len(roots)} latent-slider widgets, redraw {statistics.median(times):.2f} ms "
                     f"per slider move (median of {len(times)})")


def _weights_from_page(shapes: str, data: str) -> DecoderWeights:
    """The weights a page carries, read back as DecoderWeights.to_bytes wrote them."""
    s = json.loads(html_lib.unescape(shapes))
    raw = base64.b64decode(data)
    sizes = [s["hidden"] * s["latent"], s["hidden"], s["pixels"]]
    singles = np.frombuffer(raw[:4 * sum(sizes)], dtype="<f4")
    w1, b1, b2 = np.split(singles, np.cumsum(sizes)[:-1])
    w2t = np.frombuffer(raw[4 * sum(sizes):], dtype="<f2").reshape(s["hidden"], s["pixels"])
    return DecoderWeights(w1.reshape(s["hidden"], s["latent"]), b1, b2, w2t, (s["height"], s["width"]))


# ----------------------------------------------------------------------------- a real kernel

_KERNEL_SETUP = """
import base64, json, torch
from vae_lib.models import VAE
from vae_lib.widgets import live_dimension_sliders
torch.manual_seed({seed})
model = VAE(latent_dim={latent_dim}, hidden_dim=64).eval()
with torch.no_grad():
    model.decoder.hidden.weight.mul_(2.0)
    model.decoder.out.weight.mul_(2.0)
live = live_dimension_sliders(model, {z}, dims={dims})
print(json.dumps({{"slider": live.sliders[0].model_id, "image": live.image.model_id,
                   "png": base64.b64encode(live.image.value).decode()}}))
"""


def test_live_sliders_driven_through_a_real_kernel():
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        dims, new_value = [2, 5], 2.25
        printed = _execute(client, _KERNEL_SETUP.format(seed=0, latent_dim=LATENT_DIM, z=START_Z, dims=dims))
        ids = json.loads(printed)
        # What a front end sends when the reader drags the first slider: a widget "update" on its comm.
        message = client.session.msg("comm_msg", {"comm_id": ids["slider"], "data": {
            "method": "update", "state": {"value": new_value}, "buffer_paths": []}})
        client.shell_channel.send(message)
        image = _image_update(client, message["header"]["msg_id"], ids["image"])
        latency = json.loads(_execute(client, "print(json.dumps([live.sliders[0].value, live.latencies[-1]]))"))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    assert latency[0] == new_value
    assert image != base64.b64decode(ids["png"]), "the kernel sent the same picture after the slider moved"
    expected_z = np.array(START_Z)
    expected_z[dims[0]] = new_value
    pixels = _png_pixels(image)[:: ls.DISPLAY_SCALE, :: ls.DISPLAY_SCALE]
    np.testing.assert_array_equal(pixels.ravel(), eight_bit(_torch_probabilities(_model(), expected_z)))
    print(f"live slider redraw in the kernel (decode + PNG): {1000 * latency[1]:.1f} ms", file=sys.stderr)


def _execute(client, code: str) -> str:
    """Run code in the kernel and return what it printed (the test fails on an error)."""
    printed: list[str] = []

    def keep(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, output_hook=keep, timeout=120)
    assert reply["content"]["status"] == "ok", "".join(printed)
    return "".join(printed)


def _image_update(client, parent_id: str, image_id: str, timeout: float = 60) -> bytes:
    """The PNG the kernel sends to the front end for the image widget after the message ``parent_id``."""
    image = None
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != parent_id:
            continue
        content = msg["content"]
        if msg["msg_type"] == "comm_msg" and content["comm_id"] == image_id and content["data"]["method"] == "update":
            paths = content["data"].get("buffer_paths", [])
            if ["value"] in paths:
                image = bytes(msg["buffers"][paths.index(["value"])])
        if msg["msg_type"] == "status" and content["execution_state"] == "idle":
            assert image is not None, "the kernel sent no new picture for the image widget"
            return image
