"""Demo marketplace: four fictional back-care stores on 127.0.0.1 with real platform markup."""

from backrank.marketplace.server import Marketplace, serve

__all__ = ["Marketplace", "serve"]
