"""Probing: the HTTP prober, the address policy, shared TLS handshakes and the outcome types."""
