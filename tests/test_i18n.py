"""vae_lib.i18n: the library's messages in the reader's language, live and on the translated site."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from vae_lib import i18n
from vae_lib.i18n import catalogue, placeholders, tr, translate_output

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book"))

import translate  # noqa: E402  (book/translate.py: the catalogue is extracted from the code)

LANGUAGES = [language for language in i18n.LANGUAGES if language != "en"]
_CJK = re.compile(r"[\u3400-\u9fff]")


def _entries(language: str) -> list[tuple[str, str]]:
    """The messages searched for in executed outputs (not the book extensions' interface text,
    made after execution: ``i18n.interface_messages``)."""
    interface = i18n.interface_messages(language)
    return sorted(item for item in catalogue(language).items() if item[0] not in interface)


# ----------------------------------------------------------------------------- choosing the language


def test_english_is_the_default_and_vae_lib_lang_chooses(monkeypatch):
    assert i18n.current_language() == "en"
    assert tr("Correct.") == "Correct."
    monkeypatch.setenv("VAE_LIB_LANG", "zh-CN")
    assert i18n.current_language() == "zh_CN"
    assert tr("Correct.") == catalogue("zh_CN")["Correct."]


def test_an_unknown_language_warns_once_and_falls_back_to_english(monkeypatch):
    monkeypatch.setenv("VAE_LIB_LANG", "klingon")
    with pytest.warns(UserWarning, match="VAE_LIB_LANG='klingon' is not a language vae_lib speaks"):
        assert tr("Correct.") == "Correct."


def test_an_untranslated_message_stays_english_and_is_still_formatted():
    assert tr("Not in any catalogue {n}.", language="zh_CN", n=3) == "Not in any catalogue 3."


# ----------------------------------------------------------------------------- the catalogue's rules


def test_every_message_is_a_literal_in_the_code():
    """`make translations` can only extract literals: a tr() of anything else would be missed."""
    offenders = []
    for path in sorted((REPO / "vae_lib").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"(?<![\w.])tr\((?!\s*[\"'])([^,)]*)", text):
            if path.name != "i18n.py" and match.group(1).strip() not in {"ROUNDING_ADVICE"}:
                offenders.append(f"{path.relative_to(REPO)}: tr({match.group(1)}")
    assert not offenders, "tr() takes a literal string (or an N_-marked constant):\n" + "\n".join(offenders)


@pytest.mark.parametrize("language", LANGUAGES)
def test_messages_can_be_found_in_outputs_unambiguously(language):
    """Each message starts and ends with literal text, uses plain {name} placeholders (no format
    specs: format numbers before passing them), and its translation keeps the same placeholders."""
    problems = []
    for message, translation in _entries(language):
        if placeholders(message) and (message.startswith("{") or message.endswith("}")):
            problems.append(f"starts or ends with a placeholder: {message!r}")
        if re.search(r"\{[^{}]*[:!][^{}]*\}", message):
            problems.append(f"placeholder with a format spec or conversion: {message!r}")
        if sorted(set(placeholders(message))) != sorted(set(placeholders(translation))):
            problems.append(f"placeholders differ: {message!r} → {translation!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_rendered_in_english_is_found_and_translated(language):
    """The round trip the translated site relies on: render each message in English with sample
    values, embed it in other output, and translate_output must give the translation."""
    for message, translation in _entries(language):
        if len("".join(re.split(r"\{\w+\}", message))) < i18n.MIN_OUTPUT_MESSAGE:
            continue  # too short to search for in outputs; translated live only
        values = {name: f"V{number}" for number, name in enumerate(dict.fromkeys(placeholders(message)))}
        english = tr(message, language="en", **values)
        output = f"✗ {english}\nprinted: 0.1234"
        assert translate_output(output, language) == f"✗ {tr(message, language=language, **values)}\nprinted: 0.1234"


@pytest.mark.parametrize("language", LANGUAGES)
def test_outputs_without_messages_are_left_alone(language):
    text = "P(noise) = 0.4100\nafter 2 noisy mornings: clogged 0.86, low water 0.14\n<svg><text>0.30</text></svg>"
    assert translate_output(text, language) == text


# ----------------------------------------------------------------------------- chapter 1, the worked example


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_1_checks_answer_in_chinese(monkeypatch, capsys, language):
    """Live in Jupyter with VAE_LIB_LANG set, every verdict of chapter 1's checks is translated."""
    from vae_lib.exercises import bayes as exercises

    monkeypatch.setenv("VAE_LIB_LANG", language)
    for variant in exercises.VARIANTS:
        variant.cache_clear()  # the checks are built once, in the language of the moment
    try:
        replies = [exercises.check_silent_machine(None), exercises.check_silent_machine(0.3),
                   exercises.check_silent_machine(0.5), exercises.check_loaded_die_mle("0.3"),
                   exercises.check_loaded_die_mle([1, 2]), exercises.check_grid_dimension(20)]
    finally:
        for variant in exercises.VARIANTS:
            variant.cache_clear()
    printed = capsys.readouterr().out
    for reply in replies:
        assert _CJK.search(reply.message), reply.message
        assert not re.search(r"\b(That is|Not answered|Not quite|Expected a)\b", reply.message), reply.message
    assert printed.count("\n") == len(replies)


_ENGLISH = re.compile(r"\b(That is|That's|Not answered|Not quite|Expected a|You|your|the|is not)\b")


def _exercise_modules() -> list[str]:
    from vae_lib import exercises

    return sorted(path.stem for path in Path(exercises.__file__).parent.glob("*.py") if not path.stem.startswith("_"))


def _replies_of_every_kind(function) -> list:
    """The self-check's replies to no answer, a non-number, an unexplained number and each of its
    known mistakes (found by watching the Check the function builds)."""
    from vae_lib import checks

    seen = []
    original = checks.Check.__call__

    def watched(check, answer, **options):
        seen.append(check)
        return original(check, answer, **options)

    checks.Check.__call__ = watched
    try:
        replies = [function(None), function("forty-two"), function(98765.4321)]
        mistakes = [mistake.value for check in seen[:1] for mistake in check._mistakes]
        replies += [function(value) for value in mistakes]
    finally:
        checks.Check.__call__ = original
    return replies


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("module_name", _exercise_modules())
def test_every_chapter_checks_answer_in_the_language(monkeypatch, capsys, language, module_name):
    """Live with VAE_LIB_LANG set, every reply of every self-check of the chapter is in the
    language, including each known mistake's diagnosis (checks built earlier in English must not
    be reused)."""
    import importlib

    from vae_lib.checks import checks_by_exercise

    module = importlib.import_module(f"vae_lib.exercises.{module_name}")
    functions = checks_by_exercise(module)
    assert functions, f"{module_name} has no self-checks"
    for function in functions.values():  # built once in English first, as a build would
        function(None)
    monkeypatch.setenv("VAE_LIB_LANG", language)
    problems = []
    for label, function in functions.items():
        for reply in _replies_of_every_kind(function):
            text = reply.message.replace("None", "")
            if not _CJK.search(text) or _ENGLISH.search(text):
                problems.append(f"{label}: {reply.message}")
    capsys.readouterr()
    assert not problems, "replies not in the language:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_1_explorer_labels_are_translated(monkeypatch, language):
    from vae_lib.widgets import bayes_explorer

    monkeypatch.setenv("VAE_LIB_LANG", language)
    explorer = bayes_explorer({"clogged": 0.3, "low water": 0.7}, {"clogged": 0.9, "low water": 0.2},
                              observation="noise", static=False)
    legend = explorer.children[0].value
    titles = [panel.children[0].value for panel in explorer.picture.children]
    assert _CJK.search(legend) and "is the prior" not in legend and "<b>P(clogged)</b>" in legend
    assert all(_CJK.search(title) for title in titles), titles


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_5_elbo_explorer_labels_are_translated(monkeypatch, language):
    import torch

    from vae_lib.linear_gaussian import LinearGaussian
    from vae_lib.widgets import elbo_explorer

    monkeypatch.setenv("VAE_LIB_LANG", language)
    figure = elbo_explorer(LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0), torch.tensor([4.0]), [0.0, 1.2], [0.3, 1.0])
    descriptions = [slider.description for slider in figure.sliders]
    assert all(_CJK.search(text) for text in descriptions) and "q mean (μ)" not in descriptions, descriptions
    alt = re.search(r'(?:alt|aria-label)="([^"]*)"', figure.shown_html()).group(1)
    assert _CJK.search(alt) and "the exact posterior" not in alt, alt


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_6_kl_explorer_labels_are_translated(monkeypatch, language):
    import matplotlib

    matplotlib.use("Agg")
    from vae_lib.widgets import kl_fit_explorer

    monkeypatch.setenv("VAE_LIB_LANG", language)
    explorer = kl_fit_explorer(separations=(0.0, 6.0))
    descriptions = [slider.description for slider in explorer.sliders]
    assert all(_CJK.search(text) for text in descriptions) and "fitted by" not in descriptions, descriptions
    choices = [label for slider in explorer.sliders[1:] for label, _ in slider.options]
    assert all(_CJK.search(label) for label in choices), choices
    alt = re.search(r'alt="([^"]*)"', explorer.shown_html()).group(1)
    assert _CJK.search(alt) and "target density" not in alt, alt


def _html_leaves(widget) -> list[str]:
    """The HTML of every picture of a slider figure (its nested stacks walked)."""
    children = getattr(widget, "children", None)
    if children is None:
        return [widget.value]
    return [text for child in children for text in _html_leaves(child)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapters_9_to_11_widget_labels_are_translated(monkeypatch, language):
    """The labels and alt texts the library makes for chapter 9's prior samples, chapter 10's latent
    sliders (the script's words too) and chapter 11's threshold explorer; labels the chapter passes
    in, and the name of the held-out split, stay as given."""
    import html as html_module

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    from vae_lib.models import VAE
    from vae_lib.widgets import dimension_sliders, prior_scale_explorer, threshold_explorer

    monkeypatch.setenv("VAE_LIB_LANG", language)
    model = VAE(latent_dim=3, hidden_dim=8)
    prior = prior_scale_explorer(model, scales=(0.0, 1.0), n=4)
    assert all(_CJK.search(slider.description) for slider in prior.sliders)
    assert all(_CJK.search(label) for label in prior.sliders[1]._options_labels)  # what the read-out shows
    alts = [re.search(r' alt="([^"]*)"', leaf).group(1) for leaf in _html_leaves(prior.picture)]
    assert alts and all(_CJK.search(alt) and "A grid of" not in alt and " at " not in alt for alt in alts), alts

    rng = np.random.default_rng(0)
    explorer = threshold_explorer(rng.normal(100, 10, 200), {"noise": rng.normal(150, 10, 50)},
                                  false_positive_rates=(0.05,), split="held-out")
    assert all(_CJK.search(slider.description) for slider in explorer.sliders)
    alt = re.search(r' alt="([^"]*)"', _html_leaves(explorer.picture)[0]).group(1)
    assert _CJK.search(alt) and "held-out digits" in alt and "histograms" not in alt, alt

    sliders = dimension_sliders(model, [0.1, 0.2, 0.3], dims=[0, 2])
    page = sliders.html()
    words = [html_module.unescape(re.search(rf'data-{name}="([^"]*)"', page).group(1)) for name in ("alt", "missing")]
    words.append(re.search(r'class="vae-ls-activate"[^>]*>([^<]*)<', page).group(1))
    assert all(_CJK.search(text) and "decoder" not in text for text in words), words
    assert all(_CJK.search(label) for label in sliders.labels) and _CJK.search(sliders.picture_alt())
    assert dimension_sliders(model, [0.1, 0.2, 0.3], dims=[1], labels=["width"]).labels == ("width",)


def test_the_held_out_split_is_named_as_the_data_source_names_it():
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    from vae_lib.widgets import threshold_explorer

    rng = np.random.default_rng(0)
    for split in ("test", "held-out"):
        explorer = threshold_explorer(rng.normal(100, 10, 200), {"noise": rng.normal(150, 10, 50)},
                                      false_positive_rates=(0.05,), split=split)
        alt = re.search(r' alt="([^"]*)"', _html_leaves(explorer.picture)[0]).group(1)
        assert f"normal {split} digits" in alt, alt
        # the legend of the histogram names it too (drawn again here: the widget keeps only PNGs)
        from vae_lib.widgets.anomaly import _draw

        fig = _draw(np.array([1.0, 2.0, 3.0]), np.array([4.0]), "noise", 0.05, np.linspace(0, 5, 6), split)
        assert f"{split} digits" in [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        matplotlib.pyplot.close(fig)


def test_the_catalogue_is_extracted_from_the_code():
    """book/translate.py finds chapter 1's messages where they are made."""
    found = translate.library_messages()
    assert "Not answered yet: replace None with your computation and run the cell." in found
    assert any(place.startswith("vae_lib/exercises/bayes.py") for place in
               found["That is the prior P(clogged): you have not used the observation yet."])


def test_the_chinese_build_translates_a_slider_s_labels_in_the_widget_state():
    """A selection slider's read-out labels (chapter 9's 'what to show') are widget state too."""
    import json
    from types import SimpleNamespace

    import editions

    state = {"state": {"m1": {"state": {"description": "what to show",
                                        "_options_labels": ["pixel probabilities", "a binary sample"]}}}}
    env = SimpleNamespace(docname="chapters/09_training_mnist",
                          nb_metadata={"chapters/09_training_mnist": {"js_files": {
                              "ipywidgets_state": ("state.js", {"body": json.dumps(state)})}}})
    editions._translate_widget_state(SimpleNamespace(env=env), "zh_CN")
    body = env.nb_metadata["chapters/09_training_mnist"]["js_files"]["ipywidgets_state"][1]["body"]
    fields = json.loads(body)["state"]["m1"]["state"]
    assert fields["description"] == tr("what to show", language="zh_CN") != "what to show"
    assert fields["_options_labels"] == [tr("pixel probabilities", language="zh_CN"),
                                         tr("a binary sample", language="zh_CN")]
@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_3_em_explorer_labels_are_translated(monkeypatch, language):
    """The EM explorer's sliders, alt text, panel titles and axis labels speak the reader's language
    (and its pictures draw Chinese with a font that has the glyphs, where one is installed)."""
    import html
    import warnings

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vae_lib.mixture import MixtureOfGaussians, fit_em
    from vae_lib.widgets.mixture import draw_em_state, em_explorer, label_fonts

    monkeypatch.setenv("VAE_LIB_LANG", language)
    mog = MixtureOfGaussians([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], [np.eye(2), np.eye(2)])
    x, _ = mog.sample(40, seed=0)
    run = fit_em(x, 2, seed=0, iterations=3)
    texts = []
    for step in (0, 1):
        figure = draw_em_state(x, run, step)
        texts += [figure.axes[0].get_title(), figure.axes[1].get_title(), figure.axes[1].get_xlabel(),
                  figure.axes[1].get_ylabel()]
        plt.close(figure)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        explorer = em_explorer(x, [run], [0, 1], static=True)  # every picture drawn now
    if language != "en" and label_fonts().get("font.family", [])[1:]:  # a CJK font is installed
        assert not [w for w in caught if "missing from font" in str(w.message)], "Chinese labels drawn as boxes"
    texts += [slider.description for slider in explorer.sliders]
    alt = re.search(r'alt="([^"]*)"', explorer.shown_html()).group(1)
    assert all(_CJK.search(text) for text in texts), texts
    assert _CJK.search(alt) and "ellipses" not in alt, alt
    # The Chinese site finds these messages in the English outputs (the alt text HTML-escaped as it is there).
    english_alt = html.escape(tr("Left: the 2-D data and the Gaussians of the mixture, drawn as ellipses, at the EM "
                                 "step the slider picks; right: the log-likelihood against the EM step, which "
                                 "never goes down", language="en"))
    assert _CJK.search(translate_output(f'<img alt="{english_alt}, at EM step = 5.">', language))
    assert translate_output("-4.123 nats per point: 3 of them", language) == "-4.123 nats per point: 3 of them", \
        "the chapter's own printed lines are left as printed"


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_4_importance_explorer_labels_are_translated(monkeypatch, language):
    """The importance-sampling explorer's sliders, alt text, legends, titles and axis labels speak
    the reader's language; the mathematics (q = N(…), p̂(x) / p(x)) stays as it is."""
    import torch

    from vae_lib.linear_gaussian import LinearGaussian
    from vae_lib.widgets.importance import importance_explorer

    monkeypatch.setenv("VAE_LIB_LANG", language)
    explorer = importance_explorer(LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0), torch.tensor([4.0]),
                                   [0.0, 1.2], [1.0], repeats=20)
    labels = [slider.description for slider in explorer.sliders]
    svg = explorer.shown_html()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    alt = re.search(r'aria-label="([^"]*)"', svg).group(1)
    assert all(_CJK.search(label) for label in labels), labels
    assert _CJK.search(alt) and "histogram" not in alt, alt
    for english in ("prior p(z)", "posterior p(z|x)", "proposal q(z)", "mean of the runs", "draws per run",
                    "mean ESS", "density"):
        assert not any(english in text for text in texts), (english, texts)
    assert any(_CJK.search(text) and "p(z|x)" in text for text in texts), texts
    assert any(text.startswith("q = N(") for text in texts), "the proposal's formula stays as it is"
@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_7_explorer_labels_are_translated(monkeypatch, language):
    from vae_lib.widgets import gradient_explorer

    monkeypatch.setenv("VAE_LIB_LANG", language)
    explorer = gradient_explorer(lambda z: (z - 2) ** 2, [0.0, 1.0], [1.0], [1, 10], repeats=50)
    labels = [slider.description for slider in explorer.sliders]
    alt = explorer.shown_html()
    if language == "en":
        assert labels == ["mean mu", "std sigma", "samples L"] and "Histograms of REINFORCE" in alt
        assert "直方图" in translate_output(alt, "zh_CN"), "the Chinese edition finds the alt text in the English output"
    else:
        assert all(_CJK.search(label) for label in labels), labels
        assert "直方图" in alt and "Histograms of" not in alt


@pytest.mark.parametrize("language", LANGUAGES)
def test_chapter_8_explorer_labels_are_translated(monkeypatch, language):
    import torch

    from vae_lib.models import VAE
    from vae_lib.widgets import posterior_explorer, posterior_fits

    monkeypatch.setenv("VAE_LIB_LANG", language)
    torch.manual_seed(0)
    fits = posterior_fits(VAE(latent_dim=2, hidden_dim=8), torch.rand(2, 784).bernoulli(), steps=(0, 2),
                          points=11, eval_samples=4)
    explorer = posterior_explorer(fits)
    labels = [slider.description for slider in explorer.sliders]
    alt = explorer.shown_html()
    if language == "en":
        assert labels == ["test image", "optimization step"] and "Grey contours" in alt
        assert "等高线" in translate_output(alt, "zh_CN"), "the Chinese edition finds the alt text in the English output"
    else:
        assert all(_CJK.search(label) for label in labels), labels
        assert "等高线" in alt and "Grey contours" not in alt
