//! IP addresses as `web-download` sees them: one canonical form per address
//! (so every spelling of an address compares equal), and which addresses are
//! internal (loopback, link-local with the cloud metadata address, private,
//! unique-local, unspecified, multicast, reserved...), which glint refuses to
//! fetch from unless the operator allows it (a difference from Glance).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The canonical form of `ip`: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
/// which a dual-stack socket delivers to the IPv4 host) is that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A literal address in standard notation (dotted quad, or IPv6 text with or
/// without brackets), canonicalised; `None` for anything else (names, and the
/// non-standard numeric spellings such as `2130706433` or `0x7f.1`).
pub fn parse_literal(s: &str) -> Option<IpAddr> {
    if let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| canonical(IpAddr::V6(v6)));
    }
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    s.parse::<Ipv6Addr>()
        .ok()
        .map(|v6| canonical(IpAddr::V6(v6)))
}

/// Whether a URL parser following the WHATWG URL standard (the one reqwest
/// uses) reads `host` as an IPv4 address: its last label (a trailing dot
/// aside) is a decimal or `0x` hexadecimal number. Such a host is an address
/// whatever its spelling (`127.1`, `0177.0.0.1`, `2130706433`, `0x7f.1`).
pub fn looks_numeric(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    let last = h.rsplit('.').next().unwrap_or(h);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|x| x.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why `ip` is not a global unicast address, or `None` when it is.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "unspecified (\"this network\")"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (carrier-grade NAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "reserved (IETF protocol assignments)"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "reserved (6to4 relay)"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved (including broadcast)"),
    ];
    RANGES
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, kind)| *kind)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], bits: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// The IPv4 address in the low 32 bits of `ip`.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32)
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // Forms that carry an IPv4 address: as internal as that address.
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64's well-known prefix.
    if in_v6(ip, [0; 8], 96) || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return v4_kind(low_v4(ip));
    }
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let embedded = Ipv4Addr::from(((u128::from(ip) >> 80) & 0xffff_ffff) as u32);
        return v4_kind(embedded);
    }
    const RANGES: &[([u16; 8], u32, &str)] = &[
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "NAT64 (local use)"),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only"),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "Teredo"),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation"),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique-local"),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local"),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local"),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
    ];
    RANGES
        .iter()
        .find(|(net, bits, _)| in_v6(ip, *net, *bits))
        .map(|(_, _, kind)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn spellings_of_one_address_are_one_address() {
        for s in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "[::ffff:127.0.0.1]",
            "[::FFFF:7F00:0001]",
            "0:0:0:0:0:ffff:7f00:1",
        ] {
            assert_eq!(parse_literal(s), Some(ip("127.0.0.1")), "{s}");
        }
        assert_eq!(parse_literal("[::1]"), Some(ip("::1")));
        assert_eq!(parse_literal("0:0::1"), Some(ip("::1")));
        assert_eq!(
            parse_literal("FE80::0:1"),
            Some(ip("fe80::1")),
            "IPv6 text is case- and zero-insensitive"
        );
        // Names and non-standard numeric spellings are not literals.
        for s in [
            "localhost",
            "2130706433",
            "127.1",
            "0177.0.0.1",
            "0x7f.0.0.1",
            "127.0.0.1.",
            "[127.0.0.1]",
            "fe80::1%eth0",
            "",
        ] {
            assert_eq!(parse_literal(s), None, "{s}");
        }
    }

    #[test]
    fn numeric_hosts() {
        for s in [
            "2130706433",
            "127.1",
            "0177.0.0.1",
            "0x7f.1",
            "0X7F000001",
            "127.0.0.1",
            "127.0.0.1.",
            "example.0x",
            "a.b.c.1",
        ] {
            assert!(looks_numeric(s), "{s}");
        }
        for s in [
            "example.com",
            "1.example",
            "0x7g",
            "images.example.org.",
            "[::1]",
        ] {
            assert!(!looks_numeric(s), "{s}");
        }
    }

    #[test]
    fn internal_addresses() {
        for (s, kind) in [
            ("0.0.0.0", "unspecified (\"this network\")"),
            ("0.1.2.3", "unspecified (\"this network\")"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("100.127.255.254", "shared (carrier-grade NAT)"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("169.254.169.254", "link-local (cloud metadata)"),
            ("169.254.0.1", "link-local (cloud metadata)"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.192", "reserved (IETF protocol assignments)"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved (including broadcast)"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:7f00:1", "loopback"),
            ("::ffff:169.254.169.254", "link-local (cloud metadata)"),
            ("::ffff:10.1.2.3", "private"),
            ("::ffff:0.0.0.0", "unspecified (\"this network\")"),
            ("::127.0.0.1", "loopback"),
            ("::169.254.169.254", "link-local (cloud metadata)"),
            ("64:ff9b::127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata)"),
            ("64:ff9b::192.168.0.1", "private"),
            ("64:ff9b:1::1", "NAT64 (local use)"),
            ("2002:7f00:1::", "loopback"),
            ("2002:a9fe:a9fe::1", "link-local (cloud metadata)"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fd00:ec2::254", "unique-local"),
            ("fc00::1", "unique-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "Teredo"),
            ("100::1", "discard-only"),
        ] {
            assert_eq!(internal_kind(ip(s)), Some(kind), "{s}");
        }
    }

    #[test]
    fn global_addresses() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "192.169.0.1",
            "11.0.0.1",
            "223.255.255.255",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "fbff::1",
        ] {
            assert_eq!(internal_kind(ip(s)), None, "{s}");
        }
    }
}
