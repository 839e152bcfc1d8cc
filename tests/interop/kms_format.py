#!/usr/bin/env python3
"""The kms file and secret formats, against an independent implementation in Python.

This file implements the encrypted file format from its normative description alone
(`client/src/stream.rs`) with umbral-pre's Python bindings (the capsule and the wrapped file key,
in umbral-pre's standard serialization) and the `cryptography` package (ChaCha20-Poly1305), and
checks that it and the `kms` binary read each other's output:

- `kms encrypt --to-key` (to a key only Python holds), Python decrypts: the format's boundary
  sizes (empty, one byte, a chunk less one, exactly one chunk, a chunk and one byte, exact
  multiples, many chunks) and the default chunk size;
- Python encrypts to the delegating key of a label of a `kms` keyring, `kms decrypt --label`
  reads it byte for byte; the same file tampered with, its chunks swapped, cut at a chunk
  boundary or with bytes appended is refused with exit code 4 and no output;
- a short secret sealed by Python, `kms secret get --label` opens it.

Nothing here needs a node. Usage: `kms_format.py PATH/TO/kms` (`scripts/test.sh` runs it with
the Python environment `scripts/setup-tools.sh` installs). Prints one line per check and
`N passed, N failed` last; exits non-zero if any check failed.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile

import umbral_pre
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

MAGIC = b"KMSCHAIN"
VERSION = 1
CAPSULE_LEN = 105
WRAPPED_KEY_LEN = 72
HEADER_LEN = 8 + 1 + 4 + 2 + CAPSULE_LEN + 2 + WRAPPED_KEY_LEN
TAG_LEN = 16
DEFAULT_CHUNK_SIZE = 64 * 1024
SECRET_PREFIX = "kms-secret-1:"
BAD_DATA = 4


class FormatError(Exception):
    """The input is not a valid kms file."""


def nonce(index, last):
    """Chunk `index`'s nonce: the index (u64, big-endian), the final-chunk flag, three zeros."""
    return index.to_bytes(8, "big") + bytes([1 if last else 0]) + bytes(3)


def encrypt(public_key, plaintext, chunk_size=DEFAULT_CHUNK_SIZE):
    """A kms file of `plaintext`, its file key wrapped to `public_key`."""
    file_key = os.urandom(32)
    capsule, wrapped = umbral_pre.encrypt(public_key, file_key)
    capsule = bytes(capsule)
    header = (
        MAGIC
        + bytes([VERSION])
        + chunk_size.to_bytes(4, "big")
        + len(capsule).to_bytes(2, "big")
        + capsule
        + len(wrapped).to_bytes(2, "big")
        + wrapped
    )
    assert len(header) == HEADER_LEN, len(header)
    aead = ChaCha20Poly1305(file_key)
    pieces = [plaintext[i : i + chunk_size] for i in range(0, len(plaintext), chunk_size)] or [b""]
    body = b"".join(
        aead.encrypt(nonce(i, i == len(pieces) - 1), piece, header)
        for i, piece in enumerate(pieces)
    )
    return header + body


def decrypt(secret_key, data):
    """The plaintext of a kms file whose file key is wrapped to `secret_key`'s public key."""
    if data[:8] != MAGIC:
        raise FormatError("bad magic")
    if len(data) < HEADER_LEN:
        raise FormatError("the file ends inside the header")
    header, body = data[:HEADER_LEN], data[HEADER_LEN:]
    if header[8] != VERSION:
        raise FormatError(f"version {header[8]}")
    chunk_size = int.from_bytes(header[9:13], "big")
    if not 1 <= chunk_size <= 16 * 1024 * 1024:
        raise FormatError(f"chunk size {chunk_size}")
    if int.from_bytes(header[13:15], "big") != CAPSULE_LEN:
        raise FormatError("capsule length")
    capsule = umbral_pre.Capsule.from_bytes(header[15 : 15 + CAPSULE_LEN])
    if int.from_bytes(header[120:122], "big") != WRAPPED_KEY_LEN:
        raise FormatError("wrapped key length")
    file_key = umbral_pre.decrypt_original(secret_key, capsule, header[122:HEADER_LEN])
    aead = ChaCha20Poly1305(bytes(file_key))
    window = chunk_size + TAG_LEN
    chunks = [body[i : i + window] for i in range(0, len(body), window)]
    if not chunks or len(chunks[-1]) < TAG_LEN:
        raise FormatError("truncated")
    try:
        return b"".join(
            aead.decrypt(nonce(i, i == len(chunks) - 1), chunk, header)
            for i, chunk in enumerate(chunks)
        )
    except InvalidTag as error:
        raise FormatError("a chunk does not authenticate") from error


class Checks:
    """Runs checks, reports each, counts."""

    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok      {name}")
        else:
            self.failed += 1
            print(f"FAILED  {name}{': ' + detail if detail else ''}")


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} PATH/TO/kms")
    kms_binary = sys.argv[1]
    checks = Checks()
    with tempfile.TemporaryDirectory() as work:
        env = dict(
            os.environ,
            KMS_KEYRING=os.path.join(work, "keyring.json"),
            KMS_PASSPHRASE="interoperability",
            KMS_URL="ws://127.0.0.1:1",  # nothing here may need a node
        )

        def kms(*args):
            return subprocess.run([kms_binary, "--quiet", *args], env=env, capture_output=True)

        def path(name):
            return os.path.join(work, name)

        def write(name, data):
            with open(path(name), "wb") as f:
                f.write(data)
            return path(name)

        def read(name):
            with open(path(name), "rb") as f:
                return f.read()

        # kms writes, Python reads.
        python_key = umbral_pre.SecretKey.random()
        python_pk = python_key.public_key().to_compressed_bytes().hex()
        cases = [(n, 1000) for n in (0, 1, 999, 1000, 1001, 3000, 123_457)]
        cases.append((DEFAULT_CHUNK_SIZE * 3 + 5, None))
        for size, chunk_size in cases:
            plaintext = os.urandom(size)
            args = [
                "encrypt",
                "--to-key",
                python_pk,
                write("plain", plaintext),
                "-o",
                path("sealed"),
            ]
            if chunk_size is not None:
                args += ["--chunk-size", str(chunk_size)]
            ran = kms(*args)
            name = f"kms encrypt -> Python decrypt, {size} bytes, chunk {chunk_size or 'default'}"
            if ran.returncode != 0:
                checks.check(name, False, ran.stderr.decode())
                continue
            sealed = read("sealed")
            expected = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
            checks.check(
                f"{name}: header fields",
                sealed[:9] == MAGIC + bytes([VERSION])
                and int.from_bytes(sealed[9:13], "big") == expected,
            )
            try:
                checks.check(name, decrypt(python_key, sealed) == plaintext)
            except FormatError as error:
                checks.check(name, False, str(error))

        # Python writes, kms reads.
        created = kms("keys", "new")
        checks.check("kms keys new", created.returncode == 0, created.stderr.decode())
        label = "photos/2026"
        shown = kms("--json", "keys", "show", "--label", label)
        label_key = json.loads(shown.stdout)["delegating_keys"][label]["hex"]
        label_pk = umbral_pre.PublicKey.from_compressed_bytes(bytes.fromhex(label_key[2:]))
        for size, chunk_size in [
            (0, 1000),
            (1000, 1000),
            (1001, 1000),
            (200_000, DEFAULT_CHUNK_SIZE),
        ]:
            plaintext = os.urandom(size)
            sealed = write("python.kms", encrypt(label_pk, plaintext, chunk_size))
            ran = kms("decrypt", "--label", label, sealed, "-o", path("opened"))
            checks.check(
                f"Python encrypt -> kms decrypt, {size} bytes, chunk {chunk_size}",
                ran.returncode == 0 and read("opened") == plaintext,
                ran.stderr.decode(),
            )
        if os.path.exists(path("opened")):
            os.remove(path("opened"))

        plaintext = os.urandom(5 * 1000 + 10)
        good = encrypt(label_pk, plaintext, 1000)
        window = 1000 + TAG_LEN
        first, second = HEADER_LEN, HEADER_LEN + window
        tampered = bytearray(good)
        tampered[second + 7] ^= 0x01
        swapped = (
            good[:first]
            + good[second : second + window]
            + good[first:second]
            + good[second + window :]
        )
        for name, data, label_used, says in [
            ("a flipped bit in chunk 1", bytes(tampered), label, "chunk 1 failed authentication"),
            ("chunks 0 and 1 swapped", swapped, label, "chunk 0 failed authentication"),
            ("a body cut after chunk 2", good[: HEADER_LEN + 3 * window], label, "truncated"),
            ("a byte appended", good + b"\0", label, "failed authentication"),
            ("the wrong label", good, "photos/2027", "does not open with this label's key"),
        ]:
            ran = kms(
                "decrypt", "--label", label_used, write("bad.kms", data), "-o", path("opened")
            )
            stderr = ran.stderr.decode()
            checks.check(
                f"kms refuses a Python file with {name}",
                ran.returncode == BAD_DATA
                and says in stderr
                and not os.path.exists(path("opened")),
                f"exit {ran.returncode}: {stderr}",
            )

        capsule, ciphertext = umbral_pre.encrypt(label_pk, "the vault code is 0451".encode())
        text = SECRET_PREFIX + base64.b64encode(bytes(capsule) + ciphertext).decode()
        ran = kms("secret", "get", "--label", label, text)
        checks.check(
            "Python secret -> kms secret get",
            ran.returncode == 0 and ran.stdout == b"the vault code is 0451",
            ran.stderr.decode(),
        )

    print(f"interop: {checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
