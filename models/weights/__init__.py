"""The weights store: the per-user folder and its sha256 manifest (``store``), downloads (``download``) and what the
default live view needs online (``defaults``)."""
