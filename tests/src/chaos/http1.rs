//! A minimal HTTP/1.1 client for the chaos run's senders: one POST per connection, a hard
//! timeout, and the status, `retry-after` and body back. Hand-rolled on tokio's TCP stream
//! because that is all a webhook sender needs, and the run must see every transport error
//! as it is rather than through a client library's own retries.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after_seconds: Option<u64>,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("invalid URL {0:?} (expected http://host:port/path)")]
    Url(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("transport: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed response")]
    Malformed,
}

/// POSTs `body` with `headers` to `url` (plain `http://host:port/path` only).
pub async fn post(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<Answer, PostError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| PostError::Url(url.to_owned()))?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await?;
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        parse(&response)
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| PostError::Timeout(timeout))?
}

fn parse(response: &[u8]) -> Result<Answer, PostError> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or(PostError::Malformed)?;
    let head = std::str::from_utf8(&response[..split]).map_err(|_| PostError::Malformed)?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or(PostError::Malformed)?;
    let mut retry_after_seconds = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        match name.trim().to_ascii_lowercase().as_str() {
            "retry-after" => retry_after_seconds = value.trim().parse().ok(),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let raw = &response[split + 4..];
    let body = if chunked { dechunk(raw).ok_or(PostError::Malformed)? } else { raw.to_vec() };
    Ok(Answer { status, retry_after_seconds, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).ok()?.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_retry_after_and_body() {
        let answer =
            parse(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\ncontent-length: 5\r\n\r\n{\"a\"}").unwrap();
        assert_eq!(answer, Answer { status: 503, retry_after_seconds: Some(10), body: "{\"a\"}".into() });
    }

    #[test]
    fn reads_chunked_bodies() {
        let answer =
            parse(b"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!((answer.status, answer.body.as_str()), (202, "abcde"));
    }

    #[test]
    fn rejects_what_is_not_http() {
        assert!(matches!(parse(b"garbage"), Err(PostError::Malformed)));
        assert!(matches!(parse(b"HTTP/1.1 abc\r\n\r\n"), Err(PostError::Malformed)));
    }
}
