//! One peer connection: dial (with a timeout) or accept, then the handshake that both sides
//! must pass before any other message: the same protocol version, the same ensemble (cluster
//! id), and a sender that is a member. A refusal is logged on both sides with its reason.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::super::types::NodeId;
use super::wire::{ClusterId, Hello, Message, PeerCodec, Purpose, WireError, VERSION};

pub type Link = Framed<TcpStream, PeerCodec>;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("timed out")]
    Timeout,
    #[error("the peer closed the connection")]
    Closed,
    #[error("refused by the peer: {0}")]
    Refused(String),
    #[error("unexpected message: {0}")]
    Unexpected(String),
}

impl From<std::io::Error> for LinkError {
    fn from(e: std::io::Error) -> Self {
        LinkError::Wire(WireError::Io(e))
    }
}

/// Who this member is, as its handshakes say.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    pub me: NodeId,
    pub cluster: ClusterId,
}

/// Sends one message, bounded in time.
pub async fn send(link: &mut Link, message: Message, within: Duration) -> Result<(), LinkError> {
    tokio::time::timeout(within, link.send(message)).await.map_err(|_| LinkError::Timeout)??;
    Ok(())
}

/// Receives one message, bounded in time.
pub async fn receive(link: &mut Link, within: Duration) -> Result<Message, LinkError> {
    match tokio::time::timeout(within, link.next()).await {
        Err(_) => Err(LinkError::Timeout),
        Ok(None) => Err(LinkError::Closed),
        Ok(Some(message)) => Ok(message?),
    }
}

/// Connects to `addr` and introduces this member.
pub async fn dial(
    addr: &str,
    identity: Identity,
    purpose: Purpose,
    within: Duration,
) -> Result<Link, LinkError> {
    let stream = tokio::time::timeout(within, TcpStream::connect(addr))
        .await
        .map_err(|_| LinkError::Timeout)??;
    stream.set_nodelay(true)?;
    let mut link = Framed::new(stream, PeerCodec::for_handshake());
    let hello = Hello { version: VERSION, cluster: identity.cluster, from: identity.me, purpose };
    send(&mut link, Message::Hello(hello), within).await?;
    match receive(&mut link, within).await? {
        Message::Welcome { version } if version == VERSION => {
            link.codec_mut().handshaken();
            Ok(link)
        }
        Message::Refused(why) => Err(LinkError::Refused(why)),
        other => Err(LinkError::Unexpected(format!("{other:?}"))),
    }
}

/// Checks an incoming connection's Hello: `is_member` says whether its sender may talk to us.
pub async fn accept(
    stream: TcpStream,
    identity: Identity,
    is_member: impl Fn(NodeId) -> bool,
    within: Duration,
) -> Result<(Link, Hello), LinkError> {
    stream.set_nodelay(true)?;
    let mut link = Framed::new(stream, PeerCodec::for_handshake());
    let hello = match receive(&mut link, within).await? {
        Message::Hello(hello) => hello,
        other => return Err(LinkError::Unexpected(format!("{other:?}"))),
    };
    let refusal = if hello.version != VERSION {
        Some(format!(
            "protocol version {} is not {VERSION}, the one this server speaks",
            hello.version
        ))
    } else if hello.cluster != identity.cluster {
        Some("a member of another ensemble (its server.N lines differ from ours)".to_string())
    } else if hello.from == identity.me || !is_member(hello.from) {
        Some(format!("server {} is not another member of this ensemble", hello.from))
    } else {
        None
    };
    if let Some(why) = refusal {
        let _ = send(&mut link, Message::Refused(why.clone()), within).await;
        return Err(LinkError::Refused(why));
    }
    send(&mut link, Message::Welcome { version: VERSION }, within).await?;
    link.codec_mut().handshaken();
    Ok((link, hello))
}
