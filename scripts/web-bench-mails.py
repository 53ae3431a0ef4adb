#!/usr/bin/env python3
"""Writes N sample mails for scripts/web-bench.sh: the demo's ten mails, each copy with its own
Message-ID, sender and date, its subject's school replaced by a roster school (in turn), plus
one mail carrying a 60 MB attachment. Usage: web-bench-mails.py N DIR"""
import base64, email.header, os, re, sys

n, out = int(sys.argv[1]), sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
demo = sorted(os.listdir(os.path.join(root, "demo/inbox/cur")))
mails = [open(os.path.join(root, "demo/inbox/cur", f), "rb").read() for f in demo]
schools = re.findall(r'^name = "(.+)"', open(os.path.join(root, "rules/schools.toml"), encoding="utf-8").read(), re.M)

def subject_of(raw):
    m = re.search(rb"^Subject: (.*)\r\n", raw, re.M)
    words = email.header.decode_header(m.group(1).decode())
    return "".join(w.decode(c or "ascii") if isinstance(w, bytes) else w for w, c in words)

def with_school(raw, i):
    subject = subject_of(raw)
    for s in schools:
        if s in subject:
            subject = subject.replace(s, schools[i % len(schools)])
            break
    enc = "=?gb18030?b?" + base64.b64encode(subject.encode("gb18030")).decode() + "?="
    return re.sub(rb"^Subject: .*\r\n", b"Subject: " + enc.encode() + b"\r\n", raw, count=1, flags=re.M)

t0 = 1678759260
for i in range(n):
    raw = with_school(mails[i % len(mails)], i // len(mails))
    raw = re.sub(rb"^Message-ID: .*\r\n", b"Message-ID: <bench-%d@example.edu.cn>\r\n" % i, raw, count=1, flags=re.M)
    raw = re.sub(rb"^From: (.*)<[^>]*>", b"From: \\1<school%d@example.edu.cn>" % (i % 500), raw, count=1, flags=re.M)
    name = "%d.B%dP1.bench:2," % (t0 + i * 30, i)
    path = os.path.join(out, name)
    open(path, "wb").write(raw)
    os.utime(path, (t0 + i * 30, t0 + i * 30))

# One mail with a 60 MB attachment (a PDF header, then noise).
body = b"%PDF-1.4\n" + os.urandom(60 * 1024 * 1024)
b64 = base64.encodebytes(body)
big = (b"From: big <big@example.edu.cn>\r\nTo: office@example.edu.cn\r\nSubject: large scan\r\n"
       b"Message-ID: <bench-big@example.edu.cn>\r\nDate: Tue, 14 Mar 2023 10:00:00 +0800\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
       b"--b\r\nContent-Type: application/pdf; name=\"big.pdf\"\r\nContent-Disposition: attachment; filename=\"big.pdf\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n" + b64.replace(b"\n", b"\r\n") + b"--b--\r\n")
path = os.path.join(out, "%d.BIGP1.bench:2," % (t0 + n * 30))
open(path, "wb").write(big)
