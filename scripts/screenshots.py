"""Screenshot a built site in Chromium for the README.

    python scripts/screenshots.py backrank-demo/site docs/screenshots

Serves the site on 127.0.0.1, opens the home page at 1280 px and the first product page at
390 px, and writes `home-1280.png` and `product-390.png` into the output folder.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from backrank.app.serve import make_site_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(site_dir: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    server = make_site_server(Path(site_dir), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base)
            page.screenshot(path=str(out / "home-1280.png"), full_page=False)
            product_href = page.locator("table a[href*='product']").first.get_attribute("href")
            mobile = browser.new_page(viewport={"width": 390, "height": 1100})
            mobile.goto(base + product_href.lstrip("/"))
            mobile.screenshot(path=str(out / "product-390.png"), full_page=False)
            browser.close()
    finally:
        server.shutdown()
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
