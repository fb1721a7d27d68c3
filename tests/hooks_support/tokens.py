"""Keys and JWTs made in the test, as a CDS client would sign them."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.example.org"
REVIEW_SECRET = "test-review-secret-0123456789abcdef"


class ClientKeys:
    def __init__(self) -> None:
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        return {"keys": [{**ec_jwk, "kid": "ec-1", "alg": "ES384", "use": "sig"},
                         {**rsa_jwk, "kid": "rsa-1", "alg": "RS384", "use": "sig"}]}

    def write_jwks(self, folder: Path) -> Path:
        path = folder / "jwks.json"
        path.write_text(json.dumps(self.jwks()))
        return path

    def token(self, audience: str, *, alg: str = "ES384", kid: str | None = None, issuer: str = ISSUER,
              lifetime: int = 300, jti: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "sub": "client-1", "aud": audience, "iat": now, "exp": now + lifetime,
                   "jti": jti or str(uuid.uuid4()), **claims}
        key = self.ec if alg.startswith("ES") else self.rsa
        headers = {"kid": kid or ("ec-1" if alg.startswith("ES") else "rsa-1"), "jku": None}
        headers = {k: v for k, v in headers.items() if v is not None}
        return jwt.encode(payload, key, algorithm=alg, headers=headers)
