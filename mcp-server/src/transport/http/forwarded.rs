//! The client's address behind trusted reverse proxies: `Forwarded`
//! (RFC 7239) or `X-Forwarded-For`, read only when the connection comes
//! from a proxy the configuration trusts, since anyone else can write them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use http::HeaderMap;

/// A network in CIDR notation, such as `10.0.0.0/8` or `fd00::/8`; a bare
/// address is a network of one.
///
/// ```
/// use mcp_server::transport::http::Cidr;
///
/// let proxies: Cidr = "10.0.0.0/8".parse().unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.168.0.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Text that is not a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network `{0}`: expected an address or <address>/<prefix>, such as 10.0.0.0/8")]
pub struct CidrError(pub String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let error = || CidrError(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| error())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().map_err(|_| error())?,
            None => bits,
        };
        if prefix > bits {
            return Err(error());
        }
        Ok(Self {
            network: network.to_canonical(),
            prefix,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Whether `ip` is in one of the `trusted` networks.
pub(crate) fn is_trusted(trusted: &[Cidr], ip: IpAddr) -> bool {
    trusted.iter().any(|cidr| cidr.contains(ip))
}

/// The client's address: `peer` itself unless it is a trusted proxy; then
/// the nearest address in the forwarding chain that is not a trusted proxy
/// (the rightmost one, since each proxy appends the address it saw).
pub(super) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| is_trusted(trusted, ip);
    if !is_trusted(peer) {
        return peer;
    }
    let chain = forwarded_for(headers).or_else(|| x_forwarded_for(headers));
    let Some(chain) = chain else {
        return peer;
    };
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop {
            // An obfuscated or unknown hop ends what can be known.
            None => break,
            Some(ip) => {
                client = *ip;
                if !is_trusted(*ip) {
                    break;
                }
            }
        }
    }
    client
}

/// The `for=` addresses of every `Forwarded` header, in order; `None` for
/// an entry that names no address (`unknown`, an obfuscated identifier).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut chain = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        let value = value.to_str().ok()?;
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then_some(value)
            });
            if let Some(node) = node {
                chain.push(parse_node(node));
            }
        }
    }
    (!chain.is_empty()).then_some(chain)
}

fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut chain = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.to_str().ok()?;
        chain.extend(value.split(',').map(parse_node));
    }
    (!chain.is_empty()).then_some(chain)
}

/// An address as proxies write it: bare, quoted, bracketed IPv6, with or
/// without a port.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn networks_parse_and_match() {
        let v4: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(v4.contains(ip("10.255.0.1")));
        assert!(v4.contains(ip("::ffff:10.0.0.1")));
        assert!(!v4.contains(ip("11.0.0.1")));
        let one: Cidr = "192.168.1.7".parse().unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host/8",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let forged = headers(&[("x-forwarded-for", "1.2.3.4")]);
        // A client reaching the server directly cannot pick its address.
        assert_eq!(
            client_address(ip("5.6.7.8"), &forged, &trusted),
            ip("5.6.7.8")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &forged, &trusted),
            ip("1.2.3.4")
        );
        // A client's own forged entry sits left of what the proxy saw.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 5.6.7.8, 10.0.0.3")]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &chain, &trusted),
            ip("5.6.7.8")
        );
        // Forwarded, with ports, quotes and IPv6 brackets; it wins over XFF.
        let forwarded = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8::1]:4711";proto=https, for=10.0.0.3:80"#,
            ),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &forwarded, &trusted),
            ip("2001:db8::1")
        );
        // Unknown hops stop the walk at the last proxy seen.
        let unknown = headers(&[("forwarded", "for=unknown, for=10.0.0.3")]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &unknown, &trusted),
            ip("10.0.0.3")
        );
        // No headers: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }
}
