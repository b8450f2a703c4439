//! CIDR blocks for `IpAddress` / `NotIpAddress`: IPv4 and IPv6, with a prefix or as a bare address
//! (a /32 or /128).

use std::net::IpAddr;

/// A network as (address bits with the host bits cleared, mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { network: u32, mask: u32 },
    V6 { network: u128, mask: u128 },
}

impl Cidr {
    /// `192.0.2.0/24`, `2001:db8::/32`, `203.0.113.7`. Host bits under the mask are ignored
    /// (`192.0.2.9/24` is `192.0.2.0/24`), as AWS does.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address or CIDR block"))?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => parse_prefix(prefix)
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {bits}"))?,
        };
        Ok(match address {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                Cidr::V4 { network: u32::from(a) & mask, mask }
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                Cidr::V6 { network: u128::from(a) & mask, mask }
            }
        })
    }

    /// Whether `ip` is in the block. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a
    /// dual-stack listener reports IPv4 peers) is also tried as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_exact(ip)
            || match ip {
                IpAddr::V6(v6) => {
                    v6.to_ipv4_mapped().is_some_and(|v4| self.contains_exact(IpAddr::V4(v4)))
                }
                IpAddr::V4(_) => false,
            }
    }

    fn contains_exact(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Cidr::V4 { network, mask }, IpAddr::V4(a)) => u32::from(a) & mask == *network,
            (Cidr::V6 { network, mask }, IpAddr::V6(a)) => u128::from(a) & mask == *network,
            _ => false,
        }
    }
}

/// One to three decimal digits, nothing else (no sign, no spaces).
fn parse_prefix(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn contains() {
        for (cidr, address, expected) in [
            ("192.0.2.0/24", "192.0.2.0", true),
            ("192.0.2.0/24", "192.0.2.255", true),
            ("192.0.2.0/24", "192.0.3.0", false),
            ("192.0.2.9/24", "192.0.2.200", true),
            ("203.0.113.7/32", "203.0.113.7", true),
            ("203.0.113.7/32", "203.0.113.8", false),
            ("203.0.113.7", "203.0.113.7", true),
            ("203.0.113.7", "203.0.113.6", false),
            ("0.0.0.0/0", "198.51.100.1", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("172.16.0.0/12", "172.31.0.1", true),
            ("172.16.0.0/12", "172.32.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("192.0.2.0/24", "::ffff:192.0.3.1", false),
            ("2001:db8::/32", "2001:db8:1234::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("2001:db8::/32", "192.0.2.1", false),
            ("2001:db8::1/128", "2001:db8::1", true),
            ("2001:db8::1/128", "2001:db8::2", false),
            ("2001:db8::1", "2001:db8::1", true),
            ("::/0", "2001:db8::1", true),
            ("::/0", "::1", true),
            ("::/0", "192.0.2.1", false),
            ("2001:db8:abcd:12::/64", "2001:db8:abcd:12:ffff:ffff:ffff:ffff", true),
            ("2001:db8:abcd:12::/64", "2001:db8:abcd:13::", false),
            ("::ffff:0:0/96", "::ffff:192.0.2.1", true),
        ] {
            let block = Cidr::parse(cidr).unwrap();
            assert_eq!(block.contains(ip(address)), expected, "{cidr} contains {address}");
        }
    }

    #[test]
    fn malformed_blocks_are_refused() {
        for text in [
            "",
            "/24",
            "192.0.2.0/",
            "192.0.2.0/33",
            "192.0.2.0/-1",
            "192.0.2.0/+8",
            "192.0.2.0/ 8",
            "192.0.2.0/0008",
            "192.0.2.0/8/8",
            "192.0.2/24",
            "192.0.2.256",
            "192.0.2.0 /24",
            " 192.0.2.0/24",
            "010.0.0.0/8",
            "2001:db8::/129",
            "2001:db8:::/32",
            "fe80::1%eth0",
            "localhost",
            "*",
        ] {
            assert!(Cidr::parse(text).is_err(), "{text:?} should be refused");
        }
        assert!(Cidr::parse("192.0.2.0/33").unwrap_err().contains("0 to 32"));
        assert!(Cidr::parse("::/200").unwrap_err().contains("0 to 128"));
    }
}
