"""A throw-away PKI for the TLS tests: a CA and one certificate for 127.0.0.1/localhost.

The certificate has no key-usage restriction so that every component can use it both as a
server certificate and as a client certificate (the Orchestrator presents its own certificate
when it connects to actors, environments and the datalog under mutual TLS).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cogment import Endpoint, ServedEndpoint
from cogment_services._server import TlsFiles

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files: ``ca``, the shared ``key``/``cert``, and an untrusted ``rogue`` pair."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def key(self) -> Path:
        return self.folder / "node.key"

    @property
    def cert(self) -> Path:
        return self.folder / "node.pem"

    @property
    def rogue_key(self) -> Path:
        return self.folder / "rogue.key"

    @property
    def rogue_cert(self) -> Path:
        return self.folder / "rogue.pem"

    def server_tls(self, mutual: bool = True) -> TlsFiles:
        """What a service gets from ``--private_key/--trust_chain[/--root_cert]``."""
        return TlsFiles(
            private_key=str(self.key),
            trust_chain=str(self.cert),
            root_cert=str(self.ca) if mutual else None,
        )

    def cli_flags(self, mutual: bool = True) -> list[str]:
        flags = [f"--private_key={self.key}", f"--trust_chain={self.cert}"]
        if mutual:
            flags.append(f"--root_cert={self.ca}")
        return flags

    def endpoint(self, url: str, client_cert: bool = True) -> Endpoint:
        """An SDK endpoint trusting the CA, presenting the node certificate if ``client_cert``."""
        endpoint = Endpoint(url)
        if client_cert:
            endpoint.set_from_files(self.key, self.ca, self.cert)
        else:
            endpoint.set_from_files(root_certificates_file=self.ca)
        return endpoint

    def served_endpoint(self, mutual: bool = True) -> ServedEndpoint:
        """A ``ServedEndpoint`` on a free port with TLS (client certificates required if mutual)."""
        served = ServedEndpoint(0)
        served.private_key_certificate_chain_pairs = [(self.key.read_text(), self.cert.read_text())]
        if mutual:
            served.root_certificates = self.ca.read_text()
        return served


def make_pki(folder: Path) -> Pki:
    """Generate the CA, the node certificate (signed by the CA) and a self-signed rogue one."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (folder / "node.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=integration-ca")  # fmt: skip
    openssl("req", *key, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=node")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "node.pem", "-days", "1", "-extfile", "node.ext")  # fmt: skip
    openssl("req", "-x509", *key, "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "1",
            "-subj", "/CN=rogue", "-addext", "subjectAltName=IP:127.0.0.1")  # fmt: skip
    return Pki(folder)
