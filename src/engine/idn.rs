//! Host names outside ASCII (internationalised domain names) in the URLs a user enters.
//!
//! The `url` crate is built without its Unicode IDNA tables (`idna_adapter` 1.0 in
//! `Cargo.toml`): they were 43 KB of the browser page's gzip download for a case as rare as a
//! backend on `bücher.example`. Such a host is written in its ASCII form here instead, label by
//! label — lower-cased, then Punycode (RFC 3492) behind `xn--` — before the URL is parsed, so
//! `http://Bücher.example` reaches the same server as before. What full UTS #46 processing
//! adds (NFC normalisation, mapping of compatibility characters, validity rules) is left to
//! the name resolver: a name it does not know fails to connect, with that sentence.

use std::borrow::Cow;

/// Parses an http(s) URL with a host, writing a non-ASCII host in its ASCII form first.
pub fn parse_http_url(input: &str) -> Option<url::Url> {
    let parsed = url::Url::parse(&ascii_host(input.trim())).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some()).then_some(parsed)
}

/// `input` with its host written in ASCII (each non-ASCII label as `xn--` + Punycode), the
/// rest unchanged. Input without `scheme://`, or whose host is ASCII, comes back as it is.
pub fn ascii_host(input: &str) -> Cow<'_, str> {
    let Some(scheme_end) = input.find("://") else {
        return Cow::Borrowed(input);
    };
    let start = scheme_end + 3;
    let rest = &input[start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host_and_port = &authority[host_start..];
    let host_len = if host_and_port.starts_with('[') {
        host_and_port.len()
    } else {
        host_and_port.rfind(':').unwrap_or(host_and_port.len())
    };
    let host = &host_and_port[..host_len];
    if host.is_ascii() {
        return Cow::Borrowed(input);
    }
    let Some(ascii) = ascii_domain(host) else {
        return Cow::Borrowed(input);
    };
    let host_at = start + host_start;
    Cow::Owned(format!(
        "{}{}{}",
        &input[..host_at],
        ascii,
        &input[host_at + host.len()..]
    ))
}

/// A domain name in ASCII: the dots IDNA treats as dots become `.`, labels are lower-cased
/// and each non-ASCII one is encoded. `None` when a label cannot be encoded.
fn ascii_domain(host: &str) -> Option<String> {
    let host = host.replace(['\u{3002}', '\u{FF0E}', '\u{FF61}'], ".");
    let labels: Option<Vec<String>> = host
        .split('.')
        .map(|label| {
            let lower = label.to_lowercase();
            if lower.is_ascii() {
                Some(lower)
            } else {
                punycode(&lower).map(|p| format!("xn--{p}"))
            }
        })
        .collect();
    Some(labels?.join("."))
}

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// RFC 3492's bias adaptation (section 6.1).
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

fn digit(d: u32) -> char {
    match d {
        0..=25 => char::from(b'a' + d as u8),
        _ => char::from(b'0' + (d - 26) as u8),
    }
}

/// RFC 3492 Punycode encoding of one label (section 6.3); `None` on overflow.
fn punycode(label: &str) -> Option<String> {
    let input: Vec<u32> = label.chars().map(u32::from).collect();
    let mut output: String = label.chars().filter(char::is_ascii).collect();
    let basic = output.len() as u32;
    if basic > 0 {
        output.push('-');
    }
    let (mut n, mut delta, mut bias, mut handled) = (INITIAL_N, 0u32, INITIAL_BIAS, basic);
    while (handled as usize) < input.len() {
        let m = *input.iter().filter(|&&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &input {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_encode_as_rfc_3492_and_the_registries_write_them() {
        assert_eq!(punycode("bücher").as_deref(), Some("bcher-kva"));
        assert_eq!(punycode("münchen").as_deref(), Some("mnchen-3ya"));
        assert_eq!(punycode("💩").as_deref(), Some("ls8h"));
        // RFC 3492 7.1 (A): Arabic (Egyptian).
        assert_eq!(
            punycode("ليهمابتكلموشعربي؟").as_deref(),
            Some("egbpdaj6bu4bxfgehfvwxn")
        );
        // RFC 3492 7.1 (B): Chinese (simplified).
        assert_eq!(
            punycode("他们为什么不说中文").as_deref(),
            Some("ihqwcrb4cv8a8dqg056pqjye")
        );
    }

    #[test]
    fn only_the_host_is_rewritten() {
        assert_eq!(
            ascii_host("https://user:pw@Bücher.example:8443/päth?q=ü#ä"),
            "https://user:pw@xn--bcher-kva.example:8443/päth?q=ü#ä"
        );
        assert_eq!(
            ascii_host("http://例え。テスト/v1"),
            "http://xn--r8jz45g.xn--zckzah/v1"
        );
        for unchanged in [
            "http://127.0.0.1:8080/v1",
            "http://[::1]:4096",
            "https://api.openai.com/v1",
            "not a url",
            "",
        ] {
            assert!(matches!(ascii_host(unchanged), Cow::Borrowed(s) if s == unchanged));
        }
    }

    #[test]
    fn international_hosts_parse_and_other_input_does_not() {
        let u = parse_http_url(" http://münchen.example/v1 ").unwrap();
        assert_eq!(u.as_str(), "http://xn--mnchen-3ya.example/v1");
        assert_eq!(u.host_str(), Some("xn--mnchen-3ya.example"));
        assert!(parse_http_url("http://localhost:11434").is_some());
        for bad in [
            "ftp://münchen.example",
            "münchen.example",
            "http://",
            "mailto:a@b.c",
        ] {
            assert!(parse_http_url(bad).is_none(), "{bad}");
        }
    }
}
