//! Bounded reading of HTTP answers. ARM, storage and the sign-in service are remote: a body
//! is read chunk by chunk up to a size its job needs, never collected whole, and an answer
//! past that size is an error that says so rather than a silent cut.

use azure_core::http::AsyncResponseBody;
use futures_util::StreamExt;

/// ARM's JSON answers (a VM, its NICs, an operation's status, Run Command output) are
/// kilobytes; ARM itself caps a response at a few MiB. 8 MiB leaves room for the largest
/// listing while keeping a hostile or broken endpoint from filling memory.
pub const ARM_ANSWER_LIMIT: usize = 8 << 20;

/// The boot-diagnostics serial log: Azure keeps a rolling log of about 1 MiB per VM;
/// 16 MiB tolerates a larger window without holding an unbounded blob.
pub const SERIAL_LOG_LIMIT: usize = 16 << 20;

/// The cloud metadata document and the sign-in service's error answers are a few kB.
pub const SMALL_ANSWER_LIMIT: usize = 1 << 20;

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(
        "the answer is larger than {limit} bytes; lifeline stopped reading there rather than \
         hold it whole (read it with `az rest` or the portal instead)"
    )]
    TooLarge { limit: usize },
    #[error("the answer broke off: {0}")]
    Stream(#[from] azure_core::Error),
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it passes `limit` bytes.
pub async fn read_bounded(mut body: AsyncResponseBody, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::{AsyncRawResponse, StatusCode, headers::Headers};

    fn streamed(chunks: Vec<Vec<u8>>) -> AsyncResponseBody {
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, azure_core::Error>(azure_core::Bytes::from(c))),
        );
        AsyncRawResponse::new(StatusCode::Ok, Headers::new(), Box::pin(stream)).into_body()
    }

    #[tokio::test]
    async fn a_body_at_the_limit_is_read_whole() {
        let got = read_bounded(streamed(vec![vec![b'a'; 6], vec![b'b'; 4]]), 10).await;
        assert_eq!(got.unwrap(), b"aaaaaabbbb");
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_an_error_that_names_it() {
        let err = read_bounded(streamed(vec![vec![b'a'; 6], vec![b'b'; 5]]), 10)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { limit: 10 }));
        assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_limit() {
        let endless = futures_util::stream::repeat_with(|| {
            Ok::<_, azure_core::Error>(azure_core::Bytes::from_static(&[0u8; 4096]))
        });
        let body =
            AsyncRawResponse::new(StatusCode::Ok, Headers::new(), Box::pin(endless)).into_body();
        let err = read_bounded(body, ARM_ANSWER_LIMIT).await.unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }));
    }
}
