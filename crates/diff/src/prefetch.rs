//! Reading ahead on another thread: decoding the two snapshots' Parquet and classifying then overlap, which is
//! most of a diff's time on two or more cores. At most `depth` items wait, so memory stays bounded.

use std::sync::mpsc::{Receiver, sync_channel};

/// The items of an iterator run on its own thread.
#[derive(Debug)]
pub struct Prefetch<T> {
    receiver: Receiver<T>,
}

/// Runs `iter` on a new thread, keeping up to `depth` items ready. When the consumer drops the result early
/// the thread stops at its next item.
pub fn prefetch<I>(iter: I, depth: usize) -> Prefetch<I::Item>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    let (sender, receiver) = sync_channel(depth.max(1));
    std::thread::spawn(move || {
        for item in iter {
            if sender.send(item).is_err() {
                break;
            }
        }
    });
    Prefetch { receiver }
}

impl<T> Iterator for Prefetch<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_arrive_in_order_and_all_of_them() {
        let got: Vec<u32> = super::prefetch(0..10_000u32, 2).collect();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    }
}
