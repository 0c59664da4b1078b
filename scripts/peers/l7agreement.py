#!/usr/bin/env python3
"""Agreement of vigil's application metadata (the L7 fields of its flow
records) with peers, on the captures in ../shared/data.

usage: l7agreement.py [--data DIR] [--vigil PATH] [--vigilctl PATH]
                      [--source ndpi|tshark|arkime|suricata ...] [--limit N]
                      [--jobs 2] [--cache DIR] [--examples N]
                      [--details FILE]

Same replay, cache and flow matching as agreement.py (imported from it:
every capture replayed once through vigil, vigil's records and tshark's
frames cached per vigil binary and per script version; a flow is the
protocol and the two endpoints, unordered). On top, tshark is run once more
per capture for the L7 fields (cached under L7_CACHE_VERSION).

Fields compared (vigil's record field on the left):
  sni         server_name (ssl, quic)      nDPI Hostname/SNI of TLS/QUIC,
                                           Arkime http.host of a TLS session
                                           and quic.host, suricata tls.sni,
                                           tshark extensions_server_name
  ja3, ja3s   ja3, ja3s (ssl over TCP)     nDPI JA3C/JA3S, Arkime tls.ja3/
                                           ja3s, suricata tls.ja3(s).hash,
                                           tshark tls.handshake.ja3(s)
  ja4         ja4 (ssl, quic)              Arkime tls.ja4, suricata tls.ja4
                                           and quic.ja4
  host        host (http over TCP)         nDPI Hostname/SNI of HTTP, Arkime
                                           http.host of an HTTP session,
                                           suricata http.hostname, tshark
                                           http.host
  dns         query (dns)                  nDPI Hostname/SNI of DNS, Arkime
                                           dns.queryHost/host, suricata
                                           dns.rrname, tshark dns.qry.name
  ssh_client, ssh_server                   nDPI Hostname/SNI and Server of
                                           SSH, Arkime ssh.version, suricata
                                           ssh.client/server.*_version,
                                           tshark ssh.protocol per side

Per source and field: `compared` = flows both report for which the peer
gives the field (suricata: checks naming a value); `agree` = vigil gives
one of the peer's values (after the peer's documented normalisation: see
scripts/peers/README.md); every other compared flow is a mismatch in a
class (vigil missing the field, a different value) with a reason, and flows
where only vigil gives the field are counted as `peer missing`.
"""
import argparse
import concurrent.futures
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import agreement as ag  # noqa: E402

L7_CACHE_VERSION = "1"


def services(r):
    """A record's services: Zeek's service field may list several
    ("http,ssl" for TLS through an HTTP CONNECT)."""
    return set(str(r.get("service") or "").split(",")) - {""}
FIELDS = ("sni", "ja3", "ja3s", "ja4", "host", "dns", "ssh_client",
          "ssh_server")
VIGIL_FIELD = {"sni": "server_name", "ja3": "ja3", "ja3s": "ja3s",
               "ja4": "ja4", "host": "host", "dns": "query",
               "ssh_client": "ssh_client", "ssh_server": "ssh_server"}
# the service a field belongs to in vigil's records
FIELD_SERVICE = {"sni": ("ssl", "quic"), "ja3": ("ssl",), "ja3s": ("ssl",),
                 "ja4": ("ssl", "quic"), "host": ("http",),
                 "dns": ("dns",), "ssh_client": ("ssh",),
                 "ssh_server": ("ssh",)}

# --------------------------------------------------------------------------
# values


def unzeek(s):
    """vigil writes bytes outside 0x20..0x7e (and \\) as \\xNN."""
    if s is None:
        return None
    b = re.sub(r"\\x([0-9a-fA-F]{2})",
               lambda m: chr(int(m.group(1), 16)), str(s))
    try:
        return b.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return b


def new_l7():
    return {f: set() for f in FIELDS}


def vigil_l7(recs):
    """flow key -> {"vals": {field: set}, "recs": [records]}"""
    out = {}
    for r in recs:
        proto = str(r.get("proto"))
        try:
            o, p = ag.norm(r["orig_h"]), ag.norm(r["resp_h"])
            op, rp = int(r.get("orig_p", 0)), int(r.get("resp_p", 0))
        except (KeyError, TypeError, ValueError):
            continue
        k = ag.make_key(proto, o, op, p, rp, ("tcp", "udp", "132"))
        fl = out.setdefault(k, {"vals": new_l7(), "recs": []})
        fl["recs"].append(r)
        svc = services(r)
        for f in FIELDS:
            v = r.get(VIGIL_FIELD[f])
            if v in (None, "") or not (svc & set(FIELD_SERVICE[f])):
                continue
            if f in ("ja3", "ja3s") and proto != "tcp":
                continue
            fl["vals"][f].add(unzeek(v))
    return out


# --------------------------------------------------------------------------
# peers


NDPI_PROTO_RE = re.compile(r"\[proto: (\d+)(?:\.(\d+))?/([^\]]*)\]")
NDPI_FIELD = re.compile(r"\[(Hostname/SNI|JA3C|JA3S|Server): ([^\]]*)\]")
NDPI_MASTER = {"91": "tls", "7": "http", "5": "dns", "188": "quic",
               "92": "ssh"}


def ndpi_l7(outfile):
    flows = {}
    text = Path(outfile).read_bytes().decode("utf-8", errors="replace")
    for line in text.splitlines():
        m = ag.NDPI_LINE.match(line)
        if not m:
            continue
        a, b = ag.ndpi_ep(m.group(2)), ag.ndpi_ep(m.group(4))
        if not a or not b:
            continue
        proto = ag.NDPI_PROTO.get(m.group(1), m.group(1))
        k = ag.make_key(proto, a[0], a[1], b[0], b[1], ag.NDPI_PORTED)
        rest = m.group(5)
        pm = NDPI_PROTO_RE.search("[" + rest)
        master = NDPI_MASTER.get(pm.group(1)) if pm else None
        fv = {}
        for f in NDPI_FIELD.finditer(rest):
            fv.setdefault(f.group(1), f.group(2).strip())
        fl = flows.setdefault(k, {"vals": new_l7(), "info": [],
                                  "master": set()})
        fl["info"].append(line.strip()[:200])
        if master:
            fl["master"].add(master)
        host = fv.get("Hostname/SNI")
        if "JA3C" in fv and master not in ("quic",):
            fl["vals"]["ja3"].add(fv["JA3C"].split()[0])
            if master is None:
                master = "tls"
        if "JA3S" in fv and master not in ("quic",):
            fl["vals"]["ja3s"].add(fv["JA3S"].split()[0])
        if host:
            if master in ("tls", "quic"):
                fl["vals"]["sni"].add(host)
            elif master == "http" and proto == "tcp":
                fl["vals"]["host"].add(host)
            elif master == "dns":
                fl["vals"]["dns"].add(host)
            elif master == "ssh":
                fl["vals"]["ssh_client"].add(host)
        if master == "ssh" and fv.get("Server"):
            fl["vals"]["ssh_server"].add(fv["Server"])
    return flows


def arkime_l7(testfile):
    flows = {}
    try:
        d = json.loads(Path(testfile).read_text(errors="replace"))
    except ValueError:
        return {}
    for s in d.get("sessions3", []):
        b = s.get("body", {})
        src, dst = b.get("source", {}), b.get("destination", {})
        if "ip" not in src or "ip" not in dst:
            continue
        proto = ag.proto_from_num(b.get("ipProtocol"))
        k = ag.make_key(proto, ag.norm(src["ip"]), int(src.get("port") or 0),
                        ag.norm(dst["ip"]), int(dst.get("port") or 0),
                        ag.ARKIME_PORTED)
        fl = flows.setdefault(k, {"vals": new_l7(), "info": [],
                                  "master": set()})
        prot = set(b.get("protocol") or [])
        fl["master"] |= prot
        fl["info"].append(f"{src['ip']}:{src.get('port')}>{dst['ip']}:"
                          f"{dst.get('port')} {sorted(prot)}")
        tls = b.get("tls") or {}
        for f in ("ja3", "ja3s", "ja4"):
            if proto == "tcp" or f == "ja4":
                fl["vals"][f] |= set(tls.get(f) or [])
        hosts = set((b.get("http") or {}).get("host") or [])
        if "http" in prot and proto == "tcp":
            fl["vals"]["host"] |= hosts
        elif "tls" in prot:
            fl["vals"]["sni"] |= hosts
        fl["vals"]["sni"] |= set((b.get("quic") or {}).get("host") or [])
        dns = b.get("dns")
        for q in (dns if isinstance(dns, list) else [dns] if dns else []):
            if q.get("queryHost"):
                fl["vals"]["dns"].add(q["queryHost"])
            else:
                fl["vals"]["dns"] |= set(q.get("host") or [])
        # Arkime keeps both banners, lower-cased, without the side
        for v in (b.get("ssh") or {}).get("version") or []:
            fl["vals"]["ssh_client"].add(v)
            fl["vals"]["ssh_server"].add(v)
    return flows


TS_L7 = ["frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
         "tcp.dstport", "udp.srcport", "udp.dstport",
         "tls.handshake.extensions_server_name", "tls.handshake.ja3",
         "tls.handshake.ja3s", "http.host", "dns.qry.name", "ssh.protocol",
         "quic.version"]


def tshark_l7(path):
    """Per flow (the innermost IP layer), the L7 values tshark decodes;
    SSH banners per sending endpoint."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E",
           "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f",
           "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2 || "
           "http.host || dns.qry.name || ssh.protocol"]
    for f in TS_L7:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    flows = {}
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(TS_L7) - len(cols))
        v = {f: (c.split("\x1f") if c else []) for f, c in zip(TS_L7, cols)}
        # innermost: the last IP layer (tshark lists outer first)
        layers = [x for x in (v["frame.protocols"] or [""])[0].split(":")
                  if x in ("ip", "ipv6")]
        if not layers:
            continue
        src, dst = v[layers[-1] + ".src"], v[layers[-1] + ".dst"]
        if not src or not dst:
            continue
        s, d = ag.norm(src[-1]), ag.norm(dst[-1])
        if v["tcp.srcport"]:
            proto, sp, dp = "tcp", v["tcp.srcport"][-1], v["tcp.dstport"][-1]
        elif v["udp.srcport"]:
            proto, sp, dp = "udp", v["udp.srcport"][-1], v["udp.dstport"][-1]
        else:
            continue
        k = json.dumps(ag.make_key(proto, s, int(sp), d, int(dp),
                                   ("tcp", "udp")))
        fl = flows.setdefault(k, {f: [] for f in FIELDS} | {"ssh_by": {}})

        def add(f, vals):
            for x in vals:
                if x and x not in fl[f]:
                    fl[f].append(x)
        add("sni", v["tls.handshake.extensions_server_name"])
        if proto == "tcp":
            add("ja3", v["tls.handshake.ja3"])
            add("ja3s", v["tls.handshake.ja3s"])
            add("host", v["http.host"])
        add("dns", v["dns.qry.name"])
        for x in v["ssh.protocol"]:
            fl["ssh_by"].setdefault(json.dumps([s, int(sp)]), x)
    return flows


def tshark_peer(ts, vig):
    """tshark's flows: the SSH banners go to client or server by vigil's
    orig endpoint (tshark has no direction)."""
    out = {}
    for ks, fl in ts.items():
        proto, ends = json.loads(ks)
        k = (proto, tuple(tuple(e) for e in ends))
        vals = new_l7()
        for f in FIELDS:
            vals[f] |= set(fl.get(f) or [])
        if fl.get("ssh_by"):
            orig = None
            for r in (vig.get(k) or {}).get("recs", []):
                orig = json.dumps([ag.norm(r["orig_h"]),
                                   int(r.get("orig_p", 0))])
                break
            for ep, banner in fl["ssh_by"].items():
                if orig is None:
                    continue
                vals["ssh_client" if ep == orig else "ssh_server"].add(
                    banner)
        out[k] = {"vals": vals, "info": [], "master": set()}
    return out


# --------------------------------------------------------------------------
# comparison


def peer_norm(src, f, x):
    """The peer's own conventions, replayed (README: L7 peer rules)."""
    x = str(x)
    if src == "arkime" and f in ("sni", "host", "dns", "ssh_client",
                                 "ssh_server"):
        return x.lower()
    if f in ("ssh_client", "ssh_server"):
        return x.rstrip("\r\n")
    return x


def strip_port(h):
    """A Host header's ":port" (vigil, like Zeek, keeps the header as
    sent; nDPI and Suricata drop the port)."""
    m = re.match(r"^(\[[^\]]*\]|[^:\[\]]*):\d+$", h)
    return m.group(1) if m else h


def agrees(src, f, vv, pv):
    if f in ("ssh_client", "ssh_server") and src == "suricata":
        return any(v.startswith(p) for v in vv for p in pv)
    if f == "host" and src in ("ndpi", "suricata"):
        vv = {strip_port(v) for v in vv}
    if src == "arkime" and f in ("sni", "host", "dns", "ssh_client",
                                 "ssh_server"):
        vv = {v.lower() for v in vv}
    return bool(set(vv) & set(pv))


def why_missing(f, vfl, key):
    """Why vigil has no value for field f on a flow both see: from
    vigil's own records (service, l7_error, end reason)."""
    recs = vfl["recs"] if vfl else []
    svcs = set().union(*(services(r) for r in recs))
    errs = {r.get("l7_error") for r in recs} - {None}
    want = FIELD_SERVICE[f]
    if errs:
        return "l7_error " + ",".join(sorted(errs))
    if not svcs:
        return "no service recognised"
    if not (svcs & set(want)):
        return "other service (" + ",".join(sorted(svcs)) + ")"
    return "service recognised, field absent"


class Tally:
    def __init__(self):
        self.n = Counter()      # (src, f) -> compared
        self.ok = Counter()
        self.miss = Counter()   # vigil missing
        self.diff = Counter()
        self.pmiss = Counter()  # peer missing
        self.classes = defaultdict(Counter)  # (src, f) -> class -> n
        self.ex = defaultdict(list)
        self.notes = Counter()


def compare(t, src, cap_name, peer, vig, details, nex):
    for k, pfl in peer.items():
        vfl = vig.get(k)
        if vfl is None:
            continue    # a flow only the peer reports: agreement.py's
        for f in FIELDS:
            pv = {peer_norm(src, f, x) for x in pfl["vals"][f]}
            vv = vfl["vals"][f]
            if not pv:
                if vv and f not in ("ja4",) and \
                        not (src == "ndpi" and f.startswith("ssh")) and \
                        not (src == "arkime" and f in ("ja3", "ja3s")):
                    t.pmiss[(src, f)] += 1
                    cls = peer_missing_class(src, f, k, pfl, vfl)
                    t.classes[(src, f)]["peer missing: " + cls] += 1
                    _ex(t, src, f, "peer missing: " + cls, cap_name, k,
                        pv, vv, nex, details)
                continue
            t.n[(src, f)] += 1
            if vv and agrees(src, f, vv, pv):
                t.ok[(src, f)] += 1
                continue
            if not vv:
                t.miss[(src, f)] += 1
                cls = "vigil missing: " + missing_class(src, f, k, pfl,
                                                        vfl, cap_name)
            else:
                t.diff[(src, f)] += 1
                cls = "different value: " + diff_class(src, f, vv, pv,
                                                       cap_name)
            t.classes[(src, f)][cls] += 1
            _ex(t, src, f, cls, cap_name, k, pv, vv, nex, details)


def _ex(t, src, f, cls, cap, k, pv, vv, nex, details):
    rec = {"source": src, "field": f, "class": cls, "capture": cap,
           "flow": ag.key_str(k), "peer": sorted(pv), "vigil": sorted(vv)}
    if len(t.ex[(src, f, cls)]) < nex:
        t.ex[(src, f, cls)].append(rec)
    if details:
        details.write(json.dumps(rec) + "\n")


# Classes: the reasons verified on the captures (README: L7 mismatch
# classes). A flow that fits none keeps the generic reason.


def missing_class(src, f, k, pfl, vfl, cap):
    why = why_missing(f, vfl, k)
    recs = vfl["recs"] if vfl else []
    if f in ("sni", "ja4") and k[0] == "udp" and \
            any(r.get("service") == "quic" for r in recs):
        vers = {r.get("version") for r in recs} - {None}
        return ("QUIC version vigil does not decrypt (" +
                ",".join(sorted(vers) or ["?"]) + ")")
    return why


def diff_class(src, f, vv, pv, cap):
    lv = {v.lower() for v in vv}
    if lv & {p.lower() for p in pv}:
        return "case differs"
    if f in ("ssh_client", "ssh_server") and \
            any(v.rstrip("\x00").rstrip() == p.rstrip() or
                v.split("\x00")[0] == p for v in vv for p in pv):
        return "NUL bytes after the banner (tshark stops at the first)"
    if src == "ndpi" and f == "dns":
        for v in vv:
            for p in pv:
                if len(p) < len(v) and v.endswith(p):
                    return "nDPI keeps the end of a long name"
                san = "".join(c if 0x20 < ord(c) < 0x7f else "?" for c in v)
                if san.replace("*", "_") == p or san == p:
                    return ("nDPI replaces characters outside [!-~] "
                            "with ?, * with _")
    if src == "suricata" and f == "dns":
        return "another transaction of the flow (vigil: the first)"
    return "other"


def peer_missing_class(src, f, k, pfl, vfl):
    if src == "ndpi" and pfl["master"]:
        return "peer classified it as " + ",".join(sorted(pfl["master"]))
    return "peer gives no value"


# --------------------------------------------------------------------------
# suricata-verify checks

SURI_FIELD = {"tls.sni": "sni", "quic.sni": "sni", "tls.ja3.hash": "ja3",
              "tls.ja3s.hash": "ja3s", "tls.ja4": "ja4", "quic.ja4": "ja4",
              "http.hostname": "host", "dns.rrname": "dns",
              "dns.query.rrname": "dns", "dns.queries[0].rrname": "dns"}


def suricata_l7(t, entries, caps, details, nex):
    for entry in entries:
        cap = caps.get(entry["name"])
        if not cap or "vigil" not in cap:
            continue
        vg = cap["vigil"]
        recs = vg.get("records", []) if vg.get("status") == "ok" else []
        for tdir in entry["tests"]:
            tf = entry["root"] / tdir / "test.yaml"
            try:
                y = ag.load_yaml(tf.read_text(errors="replace")) or {}
            except (OSError, RecursionError):
                continue
            req = y.get("requires") or {}
            if isinstance(req, dict) and "lt-version" in req:
                continue
            seen = set()
            for ch in y.get("checks") or []:
                fl = ch.get("filter") if isinstance(ch, dict) else None
                if not isinstance(fl, dict):
                    continue
                m = fl.get("match") or {}
                freq = fl.get("requires") or {}
                if isinstance(freq, dict) and "lt-version" in freq:
                    continue
                cnt = fl.get("count")
                if not isinstance(m, dict) or (isinstance(cnt, int) and
                                               cnt == 0):
                    continue
                wants = []
                for key, f in SURI_FIELD.items():
                    if key in m and m[key] not in (None, ""):
                        wants.append((f, str(m[key])))
                for side in ("client", "server"):
                    pv = m.get(f"ssh.{side}.proto_version")
                    sv = m.get(f"ssh.{side}.software_version")
                    if pv is not None and sv is not None:
                        wants.append((f"ssh_{side}", f"SSH-{pv}-{sv}"))
                sel = [r for r in recs if suri_ep_match(r, m)]
                for f, want in wants:
                    if (tdir, f, want) in seen:
                        continue    # one check per value and test
                    seen.add((tdir, f, want))
                    vv = set()
                    for r in sel:
                        x = r.get(VIGIL_FIELD[f])
                        if x and services(r) & set(FIELD_SERVICE[f]):
                            vv.add(unzeek(x))
                    t.n[("suricata", f)] += 1
                    if vv and agrees("suricata", f, vv, {want}):
                        t.ok[("suricata", f)] += 1
                        continue
                    if not vv:
                        t.miss[("suricata", f)] += 1
                        cls = "vigil missing: " + suri_missing_class(
                            f, sel, m)
                    else:
                        t.diff[("suricata", f)] += 1
                        cls = "different value: " + diff_class(
                            "suricata", f, vv, {want}, entry["name"])
                    t.classes[("suricata", f)][cls] += 1
                    rec = {"source": "suricata", "field": f, "class": cls,
                           "capture": entry["name"], "test": tdir,
                           "peer": [want], "vigil": sorted(vv)}
                    if len(t.ex[("suricata", f, cls)]) < nex:
                        t.ex[("suricata", f, cls)].append(rec)
                    if details:
                        details.write(json.dumps(rec) + "\n")


def suri_ep_match(r, m):
    for a, b in (("src_ip", "orig_h"), ("dest_ip", "resp_h")):
        if a in m:
            x, y = ag.norm(str(m[a])), ag.norm(str(r.get(b)))
            other = ag.norm(str(r.get("resp_h" if b == "orig_h"
                                      else "orig_h")))
            if x not in (y, other):
                return False
    return True


def suri_missing_class(f, sel, m):
    svcs = set().union(*(services(r) for r in sel))
    errs = {r.get("l7_error") for r in sel} - {None}
    if errs:
        return "l7_error " + ",".join(sorted(errs))
    if not (svcs & set(FIELD_SERVICE[f])):
        return "no flow of the service"
    return "service recognised, field absent"


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(
        description="Agreement of vigil's L7 fields with nDPI, tshark, "
        "Arkime and suricata-verify (see the top of this file)")
    ag.add_common_args(ap)
    a = ap.parse_args()
    t_start = time.time()
    ready = ag.prepare(a, "l7agreement")
    if isinstance(ready, int):
        return ready
    data, sources, work, ctx = ready
    redis = None
    details = open(a.details, "w") if a.details else None
    try:
        redis = ctx.redis = ag.Redis(work)
        found = ag.discover(data, sources, a.limit)
        want = []
        for s in ("ndpi", "arkime", "suricata"):
            if s in sources or "tshark" in sources:
                want += found[s]
        if "tshark" in sources:
            want += found["other"]
        uniq = {}
        for e in want:
            uniq.setdefault(e["name"], e)
        print(f"l7agreement: {len(uniq)} captures under {data}, vigil "
              f"{a.vigil} (sha1 {ctx.vigil_sha[:12]})", flush=True)
        slots = list(range(a.jobs))
        lock = threading.Lock()

        def job(e):
            with lock:
                slot = slots.pop()
            try:
                r = ag.process(e, slot, ctx)
                if "skipped" not in r and "tshark" in sources:
                    st = e["path"].stat()
                    capid = f"{e['path'].resolve()}|{st.st_size}|" \
                            f"{st.st_mtime}"
                    r["tshark_l7"] = ag.cached(
                        ctx, "tshark-l7", f"{L7_CACHE_VERSION}|{capid}",
                        lambda: tshark_l7(str(e["path"])))
            finally:
                with lock:
                    slots.append(slot)
            return e["name"], r
        caps = {}
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
            for name, r in ex.map(job, uniq.values()):
                caps[name] = r
        t = Tally()
        for name, e in uniq.items():
            cap = caps[name]
            vg = cap.get("vigil") or {}
            if vg.get("status") != "ok":
                continue
            vig = vigil_l7(vg.get("records", []))
            if "ndpi" in sources and e.get("out"):
                compare(t, "ndpi", name, ndpi_l7(e["out"]), vig, details,
                        a.examples)
            if "arkime" in sources and e.get("test"):
                compare(t, "arkime", name, arkime_l7(e["test"]), vig,
                        details, a.examples)
            if "tshark" in sources and cap.get("tshark_l7") is not None:
                compare(t, "tshark", name, tshark_peer(cap["tshark_l7"],
                                                       vig),
                        vig, details, a.examples)
        if "suricata" in sources:
            suricata_l7(t, found["suricata"], caps, details, a.examples)
        report(t, sources, time.time() - t_start)
    finally:
        if redis:
            redis.stop()
        if details:
            details.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(t, sources, secs):
    out = print
    out("")
    out("== L7 mismatch classes (examples) ==")
    for (src, f), cls in sorted(t.classes.items()):
        for c, n in cls.most_common():
            out(f"{src} {f}: {c}: {n}")
            for ex in t.ex[(src, f, c)]:
                out(f"    {ex.get('capture')} {ex.get('flow') or ex.get('test')}"
                    f" peer={ex['peer'][:3]} vigil={ex['vigil'][:3]}")
    out("")
    out(f"== L7 agreement summary ({secs:.0f} s) ==")
    out(f"{'source':9} {'field':10} {'compared':>8} {'agree':>7} "
        f"{'rate':>7} {'v-miss':>6} {'differ':>6} {'p-miss':>6}")
    for src in ag.SOURCES:
        if src not in sources:
            continue
        for f in FIELDS:
            n = t.n[(src, f)]
            if not n and not t.pmiss[(src, f)]:
                continue
            out(f"{src:9} {f:10} {n:8d} {t.ok[(src, f)]:7d} "
                f"{ag.pct(t.ok[(src, f)], n):>7} {t.miss[(src, f)]:6d} "
                f"{t.diff[(src, f)]:6d} {t.pmiss[(src, f)]:6d}")
    tot_n = sum(t.n.values())
    tot_ok = sum(t.ok.values())
    out(f"{'all':9} {'':10} {tot_n:8d} {tot_ok:7d} {ag.pct(tot_ok, tot_n):>7}"
        f" {sum(t.miss.values()):6d} {sum(t.diff.values()):6d} "
        f"{sum(t.pmiss.values()):6d}")
    out("classes (source field: class: flows):")
    for (src, f), cls in sorted(t.classes.items()):
        for c, n in cls.most_common():
            out(f"  {src} {f}: {c}: {n}")


if __name__ == "__main__":
    sys.exit(main())
