//! The QMP input stream: any bytes, cut into reads anywhere, give the same
//! values and errors as in one read, never a panic; every value parsed,
//! as a monitor writes it, reads back as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rqemu_fuzz::json_stream::JsonStream;
use rqemu_fuzz::qmp::wire_bytes;
use serde_json::Value;

/// Equal JSON values, members in any order and numbers
/// compared by value: like QEMU, the writer
/// prints a float with an integral value without a fraction (`1e11` as
/// `100000000000`), which reads back as an integer.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            // The writer puts members in QEMU's order, not the input's.
            x.len() == y.len()
                && x.iter()
                    .all(|(key, vx)| y.get(key).is_some_and(|vy| same_value(vx, vy)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the read size for the rest.
    let Some((&read_size, input)) = data.split_first() else {
        return;
    };
    let mut whole = Vec::new();
    JsonStream::default().feed(input, &mut whole);

    let mut stream = JsonStream::default();
    let mut pieces = Vec::new();
    for read in input.chunks(usize::from(read_size) + 1) {
        stream.feed(read, &mut pieces);
    }
    assert_eq!(
        whole,
        pieces,
        "input cut into reads of {}",
        read_size as usize + 1
    );

    for value in whole.iter().flatten() {
        for pretty in [false, true] {
            let wire = wire_bytes(value, pretty);
            let mut again = Vec::new();
            JsonStream::default().feed(&wire, &mut again);
            let text = String::from_utf8_lossy(&wire);
            assert!(
                matches!(&again[..], [Ok(read)] if same_value(read, value)),
                "{value:?} written as {text} read back as {again:?}"
            );
        }
    }
});
