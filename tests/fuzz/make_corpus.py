#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/fuzz_decode (Python standard library only).

    make_corpus.py [--rewrap] [--edge] [--max-len N] [--ft DIR] OUTDIR
                   [CAPTURE...]

Reads each CAPTURE (classic pcap, either byte order, micro- or nanosecond;
or pcapng) and writes into OUTDIR one file per distinct packet *shape*: the
first packet of each shape, prefixed with fuzz_decode's selector byte. A
shape is the header stack as far as the decoder looks (link type, VLAN tags,
EtherType, IP version, IPv4 header length and fragment bits, IPv6 extension
headers, transport protocol, TCP header length and flags, ICMP type, whether
there is payload, whether the capture cut the packet) so a capture of
thousands of packets gives a few dozen seeds.

--rewrap   also write every IP shape of an Ethernet capture re-encapsulated
           in the other link types fuzz_decode selects (LINUX_SLL,
           LINUX_SLL2, RAW, NULL, LOOP), so the seeds cover them before any
           capture of those link types exists.
--edge     also write hand-made edge cases (truncations, bad lengths, too
           many VLAN tags, IPv6 extension chains, TSO zero lengths, ...).
--max-len  frames longer than N bytes are cut to N (with the selector's
           "frame was longer" bit) to keep the corpus small (default 512).
--ft DIR   also write frame sequences for fuzz_decode_ft into DIR: IPv4
           and IPv6 datagrams cut in fragments, in and out of order,
           duplicated, timed out, more than the table holds, a tunnel
           inside.

Selector byte (see fuzz_decode.c): bits 0..3 index the link type
(0 EN10MB, 1 LINUX_SLL, 2 LINUX_SLL2, 3 RAW, 4 NULL, 5 LOOP); bits 4 and 5
pick decoder settings (decap off; no VXLAN/Geneve port); bit 7 means four
big-endian bytes follow with the count of bytes the frame had beyond those
captured.

File names are the SHA-1 of the content, as libFuzzer names its own, so
re-running the script never duplicates a seed.
"""
import hashlib
import os
import struct
import sys

LINKTYPES = {1: 0, 113: 1, 276: 2, 101: 3, 0: 4, 108: 5}
SEL_EN10MB, SEL_SLL, SEL_SLL2, SEL_RAW, SEL_NULL, SEL_LOOP = range(6)
FLAG_FRAMELEN = 0x80


# ---- capture readers ----------------------------------------------------

def read_pcap(data):
    """Yield (linktype, frame, orig_len) of a classic pcap file."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("not a pcap file")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break
        yield linktype, data[off:off + incl], orig
        off += incl


def read_pcapng(data):
    """Yield (linktype, frame, orig_len) of a pcapng file (EPB and SPB)."""
    e = "<"
    ifaces = []
    off = 0
    while off + 12 <= len(data):
        btype = struct.unpack(e + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: byte order
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 2:  # interface description
            ifaces.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, _, _, incl, orig = struct.unpack(e + "IIIII", body[:20])
            if iface < len(ifaces):
                yield ifaces[iface], body[20:20 + incl], orig
        elif btype == 3 and len(body) >= 4 and ifaces:  # simple packet
            orig = struct.unpack(e + "I", body[:4])[0]
            yield ifaces[0], body[4:4 + orig], orig
        off += blen


def read_capture(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(data)
    return read_pcap(data)


# ---- shapes ---------------------------------------------------------------

def ip_shape(p):
    """Shape of an IP packet (bytes from the IP header on)."""
    if not p:
        return ("empty",)
    ver = p[0] >> 4
    if ver == 4 and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        tot = struct.unpack(">H", p[2:4])[0]
        frag = struct.unpack(">H", p[6:8])[0]
        proto = p[9]
        return (4, ihl, tot == 0, frag & 0x1FFF != 0, bool(frag & 0x2000)) + \
            l4_shape(proto, p[ihl:])
    if ver == 6 and len(p) >= 40:
        nh, off, exts = p[6], 40, []
        for _ in range(8):
            if nh not in (0, 43, 44, 51, 60) or off + 8 > len(p):
                break
            exts.append(nh)
            if nh == 44:
                elen = 8
            elif nh == 51:
                elen = (p[off + 1] + 2) * 4
            else:
                elen = (p[off + 1] + 1) * 8
            nh, off = p[off], off + elen
        return (6, tuple(exts)) + l4_shape(nh, p[off:])
    return ("ip?", ver)


def l4_shape(proto, p):
    if proto == 6 and len(p) >= 20:
        hl = (p[12] >> 4) * 4
        return (proto, hl, p[13], len(p) > hl)
    if proto == 17 and len(p) >= 8:
        return (proto, len(p) > 8)
    if proto in (1, 58) and len(p) >= 4:
        return (proto, p[0], len(p) > 8)
    return (proto, len(p) > 0)


def eth_payload(frame):
    """(tags, ethertype, payload) of an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    etype, off, tags = struct.unpack(">H", frame[12:14])[0], 14, 0
    while etype in (0x8100, 0x88A8, 0x9100) and off + 4 <= len(frame):
        etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
        off += 4
        tags += 1
    return tags, etype, frame[off:]


def shape(linktype, frame, cut):
    if linktype == 1:
        e = eth_payload(frame)
        if e is None:
            return (linktype, "short", cut)
        tags, etype, payload = e
        s = ip_shape(payload) if etype in (0x0800, 0x86DD) else ()
        return (linktype, tags, etype, cut) + s
    off = {113: 16, 276: 20, 101: 0, 0: 4, 108: 4}[linktype]
    return (linktype, cut) + ip_shape(frame[off:])


# ---- writing ----------------------------------------------------------------

def seed(sel, frame, extra=0):
    if extra:
        return bytes([sel | FLAG_FRAMELEN]) + struct.pack(">I", extra) + frame
    return bytes([sel]) + frame


def write(outdir, data, written):
    name = hashlib.sha1(data).hexdigest()
    if name in written:
        return
    written.add(name)
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def wraps(ip):
    """The IP packet `ip` in each non-Ethernet link type."""
    v6 = ip[:1] and ip[0] >> 4 == 6
    proto = 0x86DD if v6 else 0x0800
    sll = struct.pack(">HHH8sH", 0, 1, 6, b"\x02\x42\xac\x11\x00\x02\x00\x00",
                      proto)
    sll2 = struct.pack(">HHIHBB8s", proto, 0, 2, 1, 0, 6,
                       b"\x02\x42\xac\x11\x00\x02\x00\x00")
    null = struct.pack("<I", 10 if v6 else 2)  # Linux AF_INET6 / AF_INET
    loop = struct.pack(">I", 24 if v6 else 2)  # BSD AF_INET6 / AF_INET
    return [(SEL_SLL, sll + ip), (SEL_SLL2, sll2 + ip), (SEL_RAW, ip),
            (SEL_NULL, null + ip), (SEL_LOOP, loop + ip)]


# ---- hand-made edge cases -------------------------------------------------

MACS = bytes.fromhex("001122334455" "66778899aabb")
A4 = bytes([10, 0, 0, 1]) + bytes([10, 0, 0, 2])
A6 = bytes.fromhex("fd000000000000000000000000000001"
                   "fd000000000000000000000000000002")


def eth(etype, payload, tags=()):
    out = MACS
    for tpid, vid in tags:
        out += struct.pack(">HH", tpid, vid)
    return out + struct.pack(">H", etype) + payload


def ipv4(proto, l4, ihl=5, tot=None, frag=0, ver=4, opts=b""):
    hdr_len = ihl * 4
    opts = opts.ljust(max(0, hdr_len - 20), b"\x01")[:max(0, hdr_len - 20)]
    if tot is None:
        tot = 20 + len(opts) + len(l4)
    return struct.pack(">BBHHHBBH", ver << 4 | ihl, 0, tot, 1, frag, 64,
                       proto, 0) + A4 + opts + l4


def ipv6(nh, l4, plen=None, exts=()):
    body = b""
    for ext_nh, ext in exts:
        body += ext
    body += l4
    if plen is None:
        plen = len(body)
    return struct.pack(">IHBB", 0x60000000, plen, nh, 64) + A6 + body


def tcp(flags=0x02, hl=5, payload=b"", sport=40000, dport=443):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, hl << 4, flags,
                       65535, 0, 0) + b"\x01" * max(0, hl * 4 - 20) + payload


def udp(payload=b"", ulen=None, sport=5353, dport=53):
    if ulen is None:
        ulen = 8 + len(payload)
    return struct.pack(">HHHH", sport, dport, ulen, 0) + payload


def icmp(t, c=0, payload=b"\x00\x01\x00\x01"):
    return struct.pack(">BBH", t, c, 0) + payload


def ext(nh, length8=0, fill=b"\x00"):
    """IPv6 hop-by-hop/routing/dest options header of (length8+1)*8 bytes."""
    return bytes([nh, length8]) + fill * ((length8 + 1) * 8 - 2)


def edge_cases():
    e = []
    t = tcp()
    e += [(SEL_EN10MB, b"", 0), (SEL_EN10MB, MACS[:13], 0),
          (SEL_EN10MB, eth(0x0806, b"\x00" * 28), 0)]            # ARP
    # VLAN: one, two, three tags (the third is refused), cut inside a tag
    e += [(SEL_EN10MB, eth(0x0800, ipv4(6, t), [(0x8100, 100)]), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(b"q")),
                           [(0x88A8, 200), (0x8100, 300)]), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t),
                           [(0x9100, 1), (0x8100, 2), (0x8100, 3)]), 0),
          (SEL_EN10MB, eth(0x8100, b"\x00"), 0)]
    # IPv4 header lengths, versions, options, fragments, TSO zero length
    e += [(SEL_EN10MB, eth(0x0800, ipv4(6, t, ihl=4)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, ver=5)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, ihl=15)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, ihl=15)[:40]), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, tot=10)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, tot=0)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, tcp(0x18, payload=b"x" * 64),
                                        tot=0)[:60]), 70000),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, tot=1500)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, frag=0x2000)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t, frag=0x00B9)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t)[:19]), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, t) + b"\x00" * 10), 0)]  # padding
    # TCP: header length below 20, beyond the packet, cut, with options
    e += [(SEL_EN10MB, eth(0x0800, ipv4(6, tcp(hl=4))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, tcp(hl=15))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, tcp(hl=15)[:24], tot=80)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, tcp(0x12, hl=10))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(6, tcp(0x11)[:12])), 40)]
    # UDP lengths: zero (trust IP), below 8, beyond IP
    e += [(SEL_EN10MB, eth(0x0800, ipv4(17, udp(b"abc", ulen=0))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(b"abc", ulen=7))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(b"abc", ulen=99))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp()[:6])), 0)]
    # ICMP and ICMPv6 types; ICMPv4 inside IPv6; SCTP; GRE (opaque)
    e += [(SEL_EN10MB, eth(0x0800, ipv4(1, icmp(8))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(1, icmp(3, 3, b"\x00" * 4 +
                                                 ipv4(17, udp())))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(1, icmp(0)[:3])), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(58, icmp(128))), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(58, icmp(135, 0, b"\x00" * 20))), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(1, icmp(8))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(132, struct.pack(">HHII", 1, 2, 3, 0)
                                        + b"\x00" * 16)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(132, b"\x00" * 8)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, b"\x00\x00\x65\x58")), 0)]
    # IPv6: extension chains, fragment (first and not), AH, lengths
    hop = ext(60)
    dst = ext(43)
    rt = ext(44, 1)
    frag0 = bytes([6, 0, 0, 1, 0, 0, 0, 7])
    frag1 = bytes([6, 0, 0x05, 0x01, 0, 0, 0, 7])
    ah = bytes([6, 4]) + b"\x00" * 22
    e += [(SEL_EN10MB, eth(0x86DD, ipv6(0, t, exts=[(60, hop), (43, dst),
                                                    (44, rt), (6, frag0)])),
           0),
          (SEL_EN10MB, eth(0x86DD, ipv6(44, t, exts=[(6, frag1)])), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(51, t, exts=[(6, ah)])), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(0, t, exts=[(6, bytes([6, 200]) +
                                                    b"\x00" * 6)])), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(0, b"", exts=[(0, ext(0))] * 9)), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(6, t, plen=4)), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(6, t, plen=1400)), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(17, udp(b"x"), plen=0)), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(6, t)[:39]), 0),
          (SEL_EN10MB, eth(0x86DD, b"\x40" + ipv6(6, t)[1:]), 0)]
    # MPLS (one label, a stack, a pseudowire with Ethernet inside), ARP
    lbl = struct.pack(">I", 16 << 12 | 0x100 | 64)           # bottom of stack
    lbl_top = struct.pack(">I", 17 << 12 | 64)
    inner_eth = eth(0x0800, ipv4(17, udp(b"in", sport=1234, dport=80)))
    e += [(SEL_EN10MB, eth(0x8847, lbl + ipv4(6, t)), 0),
          (SEL_EN10MB, eth(0x8848, lbl_top * 3 + lbl + ipv6(6, t)), 0),
          (SEL_EN10MB, eth(0x8847, lbl + b"\x00" * 4 + inner_eth), 0),
          (SEL_EN10MB, eth(0x8847, lbl_top * 9), 0),
          (SEL_EN10MB, eth(0x8035, b"\x00" * 28), 0)]
    # tunnels: VXLAN, Geneve (with an option), GRE (key, checksum,
    # sequence; IP or Ethernet inside), ERSPAN I/II/III, IP-in-IP
    vxlan = b"\x08\x00\x00\x00" + b"\x00\x12\x34\x00"
    geneve = bytes([0x02, 0, 0x65, 0x58]) + b"\x00\x00\x2a\x00" + \
        struct.pack(">HBB", 0x0102, 0x80, 0x01) + b"\xaa" * 4
    gre_key = struct.pack(">HHI", 0x2000, 0x0800, 77)
    gre_csk = struct.pack(">HHHHII", 0xB000, 0x6558, 0, 0, 78, 1)
    erspan1 = struct.pack(">HH", 0x0000, 0x88BE)
    erspan2 = struct.pack(">HHI", 0x1000, 0x88BE, 5) + \
        struct.pack(">HHI", 0x1000 | 100, 0x0000 | 33, 0)
    erspan3 = struct.pack(">HHI", 0x1000, 0x22EB, 6) + \
        struct.pack(">HHIHBB", 0x2000 | 100, 44, 0, 0, 0, 0x00)
    erspan3_ip = struct.pack(">HHI", 0x1000, 0x22EB, 7) + \
        struct.pack(">HHIHBB", 0x2000, 45, 0, 0, 2 << 2, 0x01) + \
        b"\x00" * 8 + ipv4(6, t)
    inner_v6 = ipv6(6, t)
    e += [(SEL_EN10MB, eth(0x0800, ipv4(17, udp(vxlan + inner_eth,
                                                 dport=4789))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(vxlan + inner_eth,
                                                 dport=8472))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(b"\x00" * 8 + inner_eth,
                                                 dport=4789))), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(17, udp(geneve + inner_eth,
                                                dport=6081))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(
              bytes([0x00, 0, 0x08, 0x00]) + b"\x00\x00\x01\x00" +
              ipv4(1, icmp(8)), dport=6081))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, gre_key + ipv4(6, t))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, gre_csk + inner_eth)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, struct.pack(">HH", 0, 0x86DD)
                                        + inner_v6)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, struct.pack(">HH", 1, 0x0800)
                                        + ipv4(6, t))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, erspan1 + inner_eth)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, erspan2 + inner_eth)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, erspan3 + inner_eth)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(47, erspan3_ip)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(4, ipv4(17, udp(b"x")))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(41, inner_v6)), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(4, ipv4(6, t))), 0),
          (SEL_EN10MB, eth(0x86DD, ipv6(41, inner_v6)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(4, ipv4(4, ipv4(4, ipv4(
              4, ipv4(6, t)))))), 0),                          # too deep
          (SEL_EN10MB, eth(0x0800, ipv4(47, gre_key + ipv4(
              17, udp(vxlan + eth(0x0800, ipv4(4, ipv4(6, t))),
                      dport=4789)))), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(vxlan + inner_eth,
                                                 dport=4789),
                                        frag=0x2000)), 0),
          (SEL_EN10MB, eth(0x0800, ipv4(17, udp(vxlan + inner_eth,
                                                 dport=4789)))[:60], 0),
          (SEL_RAW, ipv4(47, gre_key + ipv4(6, t)), 0),
          (SEL_SLL2, wraps(ipv4(17, udp(vxlan + inner_eth,
                                         dport=4789)))[1][1], 0)]
    # decoder settings (selector bits 4 and 5): decap off, no UDP tunnels
    vx_frame = eth(0x0800, ipv4(17, udp(vxlan + inner_eth, dport=4789)))
    gre_frame = eth(0x0800, ipv4(47, gre_key + ipv4(6, t)))
    e += [(SEL_EN10MB | 0x10, vx_frame, 0), (SEL_EN10MB | 0x10, gre_frame, 0),
          (SEL_EN10MB | 0x20, vx_frame, 0)]
    # every edge IP packet wrapped in the other link types too
    for ip in (ipv4(6, t), ipv6(17, udp(b"x")), ipv4(1, icmp(8)),
               ipv4(6, t)[:10], b""):
        for sel, frame in wraps(ip):
            e.append((sel, frame, 0))
    for sel in (SEL_SLL, SEL_SLL2, SEL_NULL, SEL_LOOP):
        e.append((sel, b"\x00\x01", 0))
    e.append((SEL_NULL, struct.pack("<I", 30) + ipv6(6, t), 0))  # Darwin
    e.append((SEL_LOOP, struct.pack(">I", 28) + ipv6(6, t), 0))  # FreeBSD
    e.append((SEL_SLL, struct.pack(">HHH8sH", 0, 1, 6, b"\x00" * 8, 0x8100)
              + struct.pack(">HH", 5, 0x0800) + ipv4(6, t), 0))
    return e


# ---- frame sequences for fuzz_decode_ft (fragment table) -------------------

def ipv4_frags(proto, payload, ident, sizes, src=A4):
    """IPv4 fragments of `payload`: pieces of the given sizes (multiples
    of 8 but the last), as (offset, bytes) in datagram order."""
    out, off = [], 0
    for i, n in enumerate(sizes):
        piece = payload[off:off + n]
        mf = 0x2000 if off + n < len(payload) else 0
        hdr = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(piece), ident,
                          mf | off // 8, 64, proto, 0) + src
        out.append(hdr + piece)
        off += n
    return out


def ipv6_frags(nh, payload, ident, sizes):
    out, off = [], 0
    for n in sizes:
        piece = payload[off:off + n]
        m = 1 if off + n < len(payload) else 0
        fh = struct.pack(">BBHI", nh, 0, off | m, ident)
        out.append(struct.pack(">IHBB", 0x60000000, 8 + len(piece), 44, 64)
                   + A6 + fh + piece)
        off += n
    return out


def seq(frames):
    """A fuzz_decode_ft input: (selector, time step, frame) triples."""
    out = b""
    for sel, step, frame in frames:
        out += bytes([sel, step]) + struct.pack(">H", len(frame)) + frame
    return out


def ft_cases():
    u = udp(b"D" * 100)
    v4 = [eth(0x0800, f) for f in ipv4_frags(17, u, 0x1111, [48, 48, 12])]
    t6 = tcp(0x18, payload=b"T" * 60)
    v6 = [eth(0x86DD, f) for f in ipv6_frags(6, t6, 0x2222, [40, 40])]
    vx = udp(b"\x08\x00\x00\x00\x00\x00\x07\x00" +
             eth(0x0800, ipv4(6, tcp(0x18, payload=b"V" * 80))), dport=4789)
    deep = [eth(0x0800, f) for f in ipv4_frags(17, vx, 0x3333, [72, 78])]
    cases = [
        [(SEL_EN10MB, 0, f) for f in v4],                      # in order
        [(SEL_EN10MB, 0, v4[2]), (SEL_EN10MB, 1, v4[0]),
         (SEL_EN10MB, 1, v4[1]), (SEL_EN10MB, 0, v4[1])],     # disorder, dup
        [(SEL_EN10MB, 0, f) for f in v6],
        [(SEL_RAW, 0, f[14:]) for f in v6],
        [(SEL_EN10MB, 0, f) for f in deep],                    # tunnel inside
        [(SEL_EN10MB, 0, v4[0]), (SEL_EN10MB, 255, b""),
         (SEL_EN10MB, 255, v4[1])],                            # timed out
    ]
    # more datagrams than table slots: evictions, then the later halves
    firsts, lasts = [], []
    for i in range(20):
        a, b = ipv4_frags(17, u, 0x4000 + i, [56, 52])
        firsts.append((SEL_EN10MB, 0, eth(0x0800, a)))
        lasts.append((SEL_EN10MB, 0, eth(0x0800, b)))
    cases.append(firsts + lasts)
    # a fragment of a packet that is not the first one's protocol/addresses
    a, b = ipv4_frags(6, tcp(0x10, payload=b"x" * 40), 0x5555, [40, 20])
    c = ipv4_frags(6, tcp(0x10, payload=b"x" * 40), 0x5555, [40, 20],
                   src=bytes([10, 0, 0, 9, 10, 0, 0, 2]))[1]
    cases.append([(SEL_EN10MB, 0, eth(0x0800, a)),
                  (SEL_EN10MB, 0, eth(0x0800, c)),
                  (SEL_EN10MB, 0, eth(0x0800, b, [(0x8100, 7)]))])
    return [seq(c) for c in cases]


def main(argv):
    rewrap = edge = False
    ft_dir = None
    max_len = 512
    args = []
    it = iter(argv)
    for a in it:
        if a == "--rewrap":
            rewrap = True
        elif a == "--edge":
            edge = True
        elif a == "--max-len":
            max_len = int(next(it))
        elif a == "--ft":
            ft_dir = next(it)
        elif a.startswith("-"):
            sys.exit(__doc__)
        else:
            args.append(a)
    if not args:
        sys.exit(__doc__)
    outdir, captures = args[0], args[1:]
    os.makedirs(outdir, exist_ok=True)
    written = set(os.listdir(outdir))
    before = len(written)
    seen = set()
    for path in captures:
        for linktype, frame, orig in read_capture(path):
            if linktype not in LINKTYPES:
                continue
            cut = orig > len(frame) or len(frame) > max_len
            key = shape(linktype, frame, cut)
            if key in seen:
                continue
            seen.add(key)
            sel = LINKTYPES[linktype]
            keep = frame[:max_len]
            write(outdir, seed(sel, keep, max(orig, len(frame)) - len(keep)),
                  written)
            if rewrap and linktype == 1:
                e = eth_payload(frame)
                if e and e[1] in (0x0800, 0x86DD) and e[0] == 0:
                    for wsel, wframe in wraps(e[2]):
                        wkeep = wframe[:max_len]
                        write(outdir, seed(wsel, wkeep,
                                           len(wframe) - len(wkeep)),
                              written)
    if edge:
        for sel, frame, extra in edge_cases():
            write(outdir, seed(sel, frame, extra), written)
    print("%s: %d seeds (%d new, %d shapes read)" %
          (outdir, len(written), len(written) - before, len(seen)))
    if ft_dir:
        os.makedirs(ft_dir, exist_ok=True)
        done = set(os.listdir(ft_dir))
        for data in ft_cases():
            write(ft_dir, data, done)
        print("%s: %d seeds" % (ft_dir, len(done)))


if __name__ == "__main__":
    main(sys.argv[1:])
