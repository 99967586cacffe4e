"""Sphinx extension: launch buttons that work, and none that cannot.

The repository URL is set in one place, ``repository.url`` in ``book/_config.yml``. While it is
empty (the book has no public repository yet) the chapter pages show no launch button. Once
it is set, the lecturer site's chapter pages get buttons that say they open the **full
chapter** (solutions included):

- **Binder**: the repository's ``environment.yml`` and ``postBuild``, JupyterLab opening the
  chapter (a MyST notebook, opened as a notebook through jupytext, rendered by jupyterlab-myst);
- **JupyterHub** (when ``launch_buttons.jupyterhub_url`` names a course hub with nbgitpuller):
  the same, pulled into the student's home folder;
- **Colab** (GitHub repositories only): the generated ``.ipynb`` of the chapter on the branch
  ``notebooks`` (``make publish-notebooks``), whose first cell installs ``vae_lib``.

The student edition (``launch_buttons.edition: student``, set by ``make student``) gets the same
buttons opening the **student notebooks** instead (no solutions), from the branch
``student-notebooks`` (``make publish-student``): Binder and the hub open them in JupyterLab,
Colab opens them directly; their first cell installs ``vae_lib``.

Jupyter Book's own launch buttons would open the ``.md`` chapter in Colab, which cannot read
it, and warn for hosts other than GitHub; so this extension turns them off and builds the
links itself (:func:`launch_links`, a plain function the tests call for both states).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlparse

from sphinx.application import Sphinx
from sphinx.config import Config

#: The branch that ``make publish-notebooks`` writes the Colab notebooks to.
NOTEBOOKS_BRANCH = "notebooks"
#: The branch that ``make publish-student`` writes the student notebooks to.
STUDENT_BRANCH = "student-notebooks"
#: What each edition's buttons open, as their tooltips say it.
OPENS = {"full": "the full chapter (with solutions)", "student": "the student notebook (no solutions)"}
#: What each edition's buttons say after the service's name.
SHOWN = {"full": "full chapter", "student": "student notebook"}
_ICONS = {"Binder": "_static/images/logo_binder.svg", "JupyterHub": "_static/images/logo_jupyterhub.svg",
          "Colab": "_static/images/logo_colab.png"}


def repository_parts(url: str) -> tuple[str, str, str] | None:
    """``(host, owner, name)`` of a repository URL, or ``None`` when it is empty or not one.

    >>> repository_parts("https://github.com/someone/vae-book.git")
    ('github.com', 'someone', 'vae-book')
    >>> repository_parts("") is None
    True
    """
    parsed = urlparse((url or "").strip())
    parts = [part for part in parsed.path.split("/") if part]
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(parts) < 2:
        return None
    return parsed.netloc.lower(), parts[0], parts[1].removesuffix(".git")


def launch_links(pagename: str, *, repository_url: str, branch: str, binderhub_url: str = "",
                 jupyterhub_url: str = "", colab_url: str = "", interface: str = "jupyterlab",
                 edition: str = "full") -> list[dict]:
    """The launch buttons a chapter page gets: ``[{"text": "Binder", "url": ...}, ...]``.

    Empty without a repository URL; Colab only for GitHub repositories. ``edition`` is
    ``"full"`` (the lecturer site: the chapters themselves) or ``"student"`` (the student
    notebooks on the branch :data:`STUDENT_BRANCH`).

    >>> launch_links("chapters/01_bayes", repository_url="", branch="main", binderhub_url="https://mybinder.org")
    []
    >>> [b["text"] for b in launch_links("chapters/01_bayes", repository_url="https://github.com/o/r",
    ...     branch="main", binderhub_url="https://mybinder.org", colab_url="https://colab.research.google.com")]
    ['Binder (full chapter)', 'Colab (full chapter)']
    """
    if edition not in OPENS:
        raise ValueError(f"launch_buttons.edition is {edition!r}; use 'full' or 'student'.")
    parts = repository_parts(repository_url)
    if parts is None:
        return []
    host, owner, name = parts
    prefix = "lab/tree" if interface == "jupyterlab" else "tree"
    notebook = pagename.rsplit("/", 1)[-1] + ".ipynb"
    # What Binder and the hub check out, and the file they open in it.
    checkout, source = (branch, f"{pagename}.md") if edition == "full" else (STUDENT_BRANCH, notebook)
    links = []
    if binderhub_url:
        spec = {"github.com": f"gh/{owner}/{name}", "gitlab.com": f"gl/{owner}%2F{name}"}.get(
            host, f"git/{quote(repository_url.strip(), safe='')}")
        links.append(("Binder", f"{binderhub_url.rstrip('/')}/v2/{spec}/{checkout}?urlpath={prefix}/{source}"))
    if jupyterhub_url:
        query = urlencode({"repo": repository_url.strip(), "branch": checkout, "urlpath": f"{prefix}/{name}/{source}"},
                          safe="/")
        links.append(("JupyterHub", f"{jupyterhub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"))
    if colab_url and host == "github.com":
        colab_branch = NOTEBOOKS_BRANCH if edition == "full" else STUDENT_BRANCH
        links.append(("Colab", f"{colab_url.rstrip('/')}/github/{owner}/{name}/blob/{colab_branch}/{notebook}"))
    return [{"type": "link", "text": f"{text} ({SHOWN[edition]})", "tooltip": f"Open {OPENS[edition]} on {text}",
             "icon": _ICONS[text], "url": url} for text, url in links]


def _take_over_launch_buttons(app: Sphinx, config: Config) -> None:
    """Keep the launch settings for this extension; switch off the theme's own buttons."""
    options = dict(config.html_theme_options)
    config.vae_launch_settings = dict(options.get("launch_buttons") or {})
    options["launch_buttons"] = {}
    # The repository button (a link to the repository) appears exactly when there is a URL.
    options["use_repository_button"] = repository_parts(options.get("repository_url", "")) is not None
    config.html_theme_options = options


def _add_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # not a notebook: nothing to launch
    settings = app.config.vae_launch_settings
    options = app.config.html_theme_options
    buttons = launch_links(
        pagename, repository_url=options.get("repository_url", ""),
        branch=options.get("repository_branch") or "main",
        binderhub_url=settings.get("binderhub_url", ""), jupyterhub_url=settings.get("jupyterhub_url", ""),
        colab_url=settings.get("colab_url", ""), interface=settings.get("notebook_interface", "jupyterlab"),
        edition=settings.get("edition", "full"))
    if buttons and "header_buttons" in context:
        context["header_buttons"].append({"type": "group", "tooltip": f"Launch {OPENS[settings.get('edition', 'full')]}",
                                          "icon": "fas fa-rocket", "buttons": buttons, "label": "launch-buttons"})


def setup(app: Sphinx) -> dict:
    app.add_config_value("vae_launch_settings", {}, "html")
    app.connect("config-inited", _take_over_launch_buttons, priority=900)
    # After the theme has prepared its header buttons (priority 501).
    app.connect("html-page-context", _add_buttons, priority=502)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
