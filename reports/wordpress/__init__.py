"""Publishing into the owner's WordPress: block markup, synced patterns, the REST API, link checks."""
