/* The printed book's contents list (make pdf; book/print_book.py drives it).
 *
 * The single-page build prints the theme's contents list, which names the chapters but has no
 * page numbers. book/print_book.py prints the page twice: first with a placeholder number in
 * every entry, to learn on which page each heading landed, then with the real numbers, which
 * take the same room, so no page break moves. This file only runs when print_book.py calls it.
 *
 *   vaePrintContents.build()            -> [{level, title, target}], the contents in order
 *   vaePrintContents.setPages({target: page})   writes the page numbers into the entries
 *
 * Every entry links to its heading through a fresh id (print-heading-N; the introduction, whose
 * heading is not printed, through its section): the same section id ("summary", "exercises")
 * occurs once per chapter on the single page. Chromium writes a named destination into the PDF
 * for every link target, named by its id, which the printer reads back.
 */
window.vaePrintContents = (function () {
  "use strict";
  const PLACEHOLDER = "000";
  let count = 0;

  // The heading of a section as plain text: typeset math reads as its assistive MathML text,
  // the "#" permalink is left out.
  function plainTitle(heading) {
    const copy = heading.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((link) => link.remove());
    copy.querySelectorAll("mjx-container").forEach((math) => {
      const mml = math.querySelector("mjx-assistive-mml");
      math.replaceWith(document.createTextNode(mml ? mml.textContent : math.textContent));
    });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  // The heading's content as it is printed (typeset math included), without its permalink.
  function printedTitle(heading) {
    const copy = heading.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((link) => link.remove());
    const span = document.createElement("span");
    span.className = "vae-toc-title";
    span.append(...copy.childNodes);
    return span;
  }

  function headingOf(section) {
    const heading = section.querySelector(":scope > h1, :scope > h2, :scope > h3, :scope > h4");
    if (!heading) throw new Error(`section #${section.id} has no heading`);
    if (!heading.id) heading.id = `print-heading-${++count}`;
    return heading;
  }

  // One entry of the list. The book's root page (the introduction) is entered as "Introduction"
  // and linked through its section: the theme prints the book's title above the contents list
  // instead of the root page's own heading (display: none in print), which has no page.
  function entry(section, level, entries, introduction = false) {
    const heading = headingOf(section);
    const target = introduction ? section.id : heading.id;
    const title = introduction ? "Introduction" : plainTitle(heading);
    entries.push({ level, title, target });
    const item = document.createElement("li");
    item.className = `vae-toc-entry vae-toc-level-${level}`;
    const link = document.createElement("a");
    link.href = `#${target}`;
    const page = document.createElement("span");
    page.className = "vae-toc-page";
    page.dataset.target = target;
    page.textContent = PLACEHOLDER;
    const leader = document.createElement("span");
    leader.className = "vae-toc-leader";
    leader.setAttribute("aria-hidden", "true");
    const shown = introduction ? Object.assign(document.createElement("span"), { className: "vae-toc-title", textContent: title })
                               : printedTitle(heading);
    link.append(shown, leader, page);
    item.append(link);
    return item;
  }

  // One document (the introduction, a chapter, a reference page) and its sections.
  function documentEntries(section, entries, introduction = false) {
    const item = entry(section, 1, entries, introduction);
    const subsections = [...section.querySelectorAll(":scope > section")];
    if (subsections.length) {
      const list = document.createElement("ul");
      subsections.forEach((sub) => list.append(entry(sub, 2, entries)));
      item.append(list);
    }
    return item;
  }

  function build() {
    const nav = document.querySelector("#jb-print-toc nav");
    if (!nav) throw new Error("the page has no #jb-print-toc (the theme's printed contents list)");
    const entries = [];
    const contents = document.createElement("div");
    contents.className = "vae-toc";
    const intro = document.querySelector("article.bd-article > section");
    if (!intro || document.querySelectorAll(`[id="${intro.id}"]`).length !== 1) throw new Error("no root section with a unique id");
    const introList = document.createElement("ul");
    introList.append(documentEntries(intro, entries, true));
    contents.append(introList);
    // The theme's list: a caption per part of the book, then its chapters (#document-NAME).
    let list = null;
    for (const node of nav.children) {
      if (node.matches(".caption")) {
        const caption = document.createElement("p");
        caption.className = "vae-toc-part";
        caption.textContent = node.textContent.trim();
        contents.append(caption);
        list = null;
      }
      for (const link of node.querySelectorAll("a[href^='#document-']")) {
        const marker = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
        const section = marker && marker.nextElementSibling;
        if (!section || section.tagName !== "SECTION") throw new Error(`no section after ${link.getAttribute("href")}`);
        if (!list) {
          list = document.createElement("ul");
          contents.append(list);
        }
        list.append(documentEntries(section, entries));
      }
    }
    nav.replaceChildren(contents);
    return entries;
  }

  function setPages(pages) {
    const missing = [];
    document.querySelectorAll(".vae-toc-page").forEach((page) => {
      const number = pages[page.dataset.target];
      if (number === undefined) missing.push(page.dataset.target);
      else page.textContent = String(number);
    });
    if (missing.length) throw new Error(`no page known for ${missing.join(", ")}`);
  }

  return { build, setPages };
})();
