"""Open Badges credentials over HTTP: a certificate's or badge's VC-JWT, keys, DID document, status list."""
