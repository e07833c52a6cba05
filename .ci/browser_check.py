"""Open built pages in headless Chromium with no network and check what a reader sees.

    python .ci/browser_check.py        # after `make book`; needs Debian's chromium, chromium-driver

For each page it lets the scripts run (MathJax typesets the math), then asserts that
- the math was typeset: MathJax containers exist and no raw TeX delimiters (\\( \\) \\[ $$)
  are left in the rendered text;
- every <img> loaded (complete, with a non-zero natural width);
- the page title carries the lecture's number (lecture pages) or the page's name;
- nothing was fetched from the network: every resource the page loaded is a file:// URL, and
  Chromium runs with a proxy that does not exist, so a CDN request could not succeed anyway.
It saves a screenshot of the diffusion lecture as _build/screenshot-11_diffusion.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HTML = Path("_build/html").resolve()
# intro, a lecture heavy in math, the leaderboard, and one from each other part.
PAGES = {
    "intro.html": "Generative Models",
    "lectures/11_diffusion.html": "11. ",
    "lectures/03_mixtures_em.html": "03. ",
    "lectures/14_compression.html": "14. ",
    "leaderboard.html": "Leaderboard",
}
SCREENSHOT = Path("_build/screenshot-11_diffusion.png")

RENDERED_STATE = """
const text = document.querySelector('main') ? document.querySelector('main').innerText
                                            : document.body.innerText;
const images = Array.from(document.images);
return {
  title: document.title,
  mathjax: document.querySelectorAll('mjx-container').length,
  math_nodes: document.querySelectorAll('.math').length,
  raw_tex: ['\\\\(', '\\\\)', '\\\\[', '$$'].filter(d => text.includes(d)),
  images: images.length,
  broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  remote: performance.getEntriesByType('resource').map(r => r.name)
            .filter(u => !u.startsWith('file:')),
  typeset_done: !!(window.MathJax && MathJax.startup && MathJax.startup.promise),
};
"""


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                 # No network: every http(s) request goes to a proxy that is not there.
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def check_page(driver: webdriver.Chrome, page: str, title_start: str) -> list[str]:
    driver.get((HTML / page).as_uri())
    # Wait for MathJax's typesetting promise (it is set once the page's scripts ran).
    driver.set_script_timeout(60)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise.then(() => done(true)) : setTimeout(wait, 100);
        if (document.querySelectorAll('.math').length === 0) { done(false); } else { wait(); }
    """)
    deadline = time.time() + 30  # images decode asynchronously
    state = driver.execute_script(RENDERED_STATE)
    while state["broken"] and time.time() < deadline:
        time.sleep(0.5)
        state = driver.execute_script(RENDERED_STATE)
    print(f"{page}: title {state['title'].split(' — ')[0]!r}; {state['math_nodes']} math "
          f"nodes, {state['mathjax']} typeset; {state['images']} images, "
          f"{len(state['broken'])} broken; {len(state['remote'])} remote requests")
    problems = []
    if state["math_nodes"] and state["mathjax"] < state["math_nodes"]:
        problems.append(f"{page}: only {state['mathjax']} of {state['math_nodes']} formulas "
                        "were typeset")
    if state["raw_tex"]:
        problems.append(f"{page}: raw TeX delimiters left in the text: {state['raw_tex']}")
    if state["broken"]:
        problems.append(f"{page}: images that did not load: {state['broken'][:5]}")
    if state["remote"]:
        problems.append(f"{page}: fetched from the network: {state['remote'][:5]}")
    if not state["title"].startswith(title_start):
        problems.append(f"{page}: title {state['title']!r} does not start with {title_start!r}")
    return problems


def main() -> int:
    missing = [p for p in PAGES if not (HTML / p).exists()]
    if missing:
        print(f"build the book first (make book): missing {missing}")
        return 1
    driver = browser()
    problems = []
    try:
        for page, title_start in PAGES.items():
            problems += check_page(driver, page, title_start)
            if page == "lectures/11_diffusion.html":
                driver.save_screenshot(str(SCREENSHOT))
                print(f"screenshot: {SCREENSHOT}")
    finally:
        driver.quit()
    print("\n".join(problems) or "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
