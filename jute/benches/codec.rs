//! Decoding and encoding cost of the hottest frames: a getData request and its reply, and a
//! 1 KiB setData request. Run with `cargo bench -p jute`.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion};
use jute::*;
use tokio_util::codec::{Decoder, Encoder};

fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0010,
        mzxid: 0x1_0000_0020,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_500,
        version: 3,
        data_length: 100,
        pzxid: 0x1_0000_0010,
        ..Stat::default()
    }
}

fn framed<T: Encode>(item: T) -> BytesMut {
    let mut out = BytesMut::new();
    FrameCodec::default().encode(item, &mut out).unwrap();
    out
}

/// Decodes one frame from `wire` into a request, as the server's read loop does.
fn decode_request(wire: &BytesMut) -> Request {
    let mut buffer = wire.clone();
    let frame = FrameCodec::default().decode(&mut buffer).unwrap().unwrap();
    let (body, header) = RequestHeader::decode(&frame).unwrap();
    Request::decode(header.op, body).unwrap()
}

fn bench_get_data(c: &mut Criterion) {
    let header = RequestHeader { xid: 42, op: OpCode::GetData.as_i32() };
    let request =
        Request::GetData(PathWatchRequest { path: "/app/config/node-0001".into(), watch: true });
    let wire = framed((header.clone(), request.clone()));
    c.bench_function("getData request decode", |b| b.iter(|| decode_request(black_box(&wire))));
    c.bench_function("getData request encode", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            out.clear();
            FrameCodec::default().encode((&header, black_box(&request)), &mut out).unwrap();
        })
    });

    let reply_header = ReplyHeader { xid: 42, zxid: 0x1_0000_0020, err: 0 };
    let response = Response::GetData(GetDataResponse { data: Some(vec![b'x'; 100]), stat: stat() });
    let reply_wire = framed((reply_header.clone(), response.clone()));
    c.bench_function("getData reply decode", |b| {
        b.iter(|| {
            let mut buffer = black_box(&reply_wire).clone();
            let frame = FrameCodec::default().decode(&mut buffer).unwrap().unwrap();
            let (body, _) = ReplyHeader::decode(&frame).unwrap();
            Response::decode(OpCode::GetData, body).unwrap()
        })
    });
    c.bench_function("getData reply encode", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            out.clear();
            FrameCodec::default().encode((&reply_header, black_box(&response)), &mut out).unwrap();
        })
    });
}

fn bench_set_data(c: &mut Criterion) {
    let header = RequestHeader { xid: 7, op: OpCode::SetData.as_i32() };
    let request = Request::SetData(SetDataRequest {
        path: "/app/config/node-0001".into(),
        data: Some(vec![0xab; 1024]),
        version: -1,
    });
    let wire = framed((header.clone(), request.clone()));
    c.bench_function("setData 1KiB request decode", |b| {
        b.iter(|| decode_request(black_box(&wire)))
    });
    c.bench_function("setData 1KiB request encode", |b| {
        let mut out = BytesMut::with_capacity(2048);
        b.iter(|| {
            out.clear();
            FrameCodec::default().encode((&header, black_box(&request)), &mut out).unwrap();
        })
    });
}

criterion_group!(benches, bench_get_data, bench_set_data);
criterion_main!(benches);
