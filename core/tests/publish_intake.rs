//! The publish intake: a full queue makes publishers wait, the writer takes
//! everything queued as one batch, urgent items never wait and keep their
//! place, and closing or dropping never strands a publisher.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::thread;

use futures::executor::block_on;
use futures::task::{ArcWake, noop_waker_ref, waker};
use tidings_core::intake::{Closed, TryEnqueueError, Unanswered, intake};

/// Counts wake-ups, so a test can tell that a waiting publisher was woken.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl ArcWake for CountingWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, SeqCst);
    }
}

fn noop_cx() -> Context<'static> {
    Context::from_waker(noop_waker_ref())
}

#[test]
fn a_full_queue_makes_the_next_publisher_wait_until_a_batch_is_taken() {
    let (publisher, batches) = intake::<u32, ()>(2);
    let _first = publisher.try_enqueue(1).unwrap();
    let _second = publisher.try_enqueue(2).unwrap();

    let wakes = Arc::new(CountingWaker::default());
    let waker = waker(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut third = pin!(publisher.enqueue(3));
    assert!(third.as_mut().poll(&mut cx).is_pending());
    assert!(third.as_mut().poll(&mut cx).is_pending(), "still full");
    assert_eq!(publisher.len(), 2, "a waiting publisher has queued nothing");
    assert_eq!(wakes.0.load(SeqCst), 0);

    let batch = batches.try_next().unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1, 2]);
    assert!(
        wakes.0.load(SeqCst) >= 1,
        "taking a batch wakes the publisher"
    );
    let Poll::Ready(Ok(_third)) = third.as_mut().poll(&mut cx) else {
        panic!("the publisher must proceed once a batch is taken");
    };
    assert_eq!(publisher.len(), 1);
}

#[test]
fn a_batch_takes_everything_queued() {
    let (publisher, batches) = intake::<u32, ()>(8);
    for i in 0..5 {
        drop(block_on(publisher.enqueue(i)).unwrap());
    }
    publisher.enqueue_urgent(5).unwrap();
    assert_eq!(publisher.len(), 6);

    let batch = block_on(batches.next()).unwrap();
    assert_eq!(
        batch.iter().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(publisher.len(), 0);
    assert!(batches.try_next().is_none(), "nothing is left behind");

    // What comes after the batch goes into the next one.
    drop(publisher.try_enqueue(6).unwrap());
    let next = block_on(batches.next()).unwrap();
    assert_eq!(next.iter().copied().collect::<Vec<_>>(), [6]);
}

#[test]
fn urgent_items_never_wait_and_keep_queue_order() {
    let (publisher, batches) = intake::<&str, ()>(1);
    let _a = publisher.try_enqueue("a").unwrap();
    assert_eq!(
        publisher.try_enqueue("x").unwrap_err(),
        TryEnqueueError::Full("x")
    );
    let mut waiting = pin!(publisher.enqueue("b"));
    assert!(waiting.as_mut().poll(&mut noop_cx()).is_pending());

    // Full, and a publisher waits, yet urgent items are queued at once.
    publisher.enqueue_urgent("m1").unwrap();
    publisher.enqueue_urgent("m2").unwrap();
    assert_eq!(publisher.len(), 3);

    let batch = batches.try_next().unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), ["a", "m1", "m2"]);
    let urgent: Vec<bool> = batch.into_iter().map(|e| e.is_urgent()).collect();
    assert_eq!(urgent, [false, true, true]);

    // The waiting publisher was not queued before them: it comes after.
    assert!(waiting.as_mut().poll(&mut noop_cx()).is_ready());
    publisher.enqueue_urgent("m3").unwrap();
    let batch = batches.try_next().unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), ["b", "m3"]);
}

#[test]
fn a_closed_queue_answers_every_waiting_publisher_with_its_item_back() {
    let (publisher, _batches) = intake::<u32, ()>(1);
    let _queued = publisher.try_enqueue(0).unwrap();
    let others = publisher.clone();
    let mut first = pin!(publisher.enqueue(1));
    let mut second = pin!(others.enqueue(2));
    assert!(first.as_mut().poll(&mut noop_cx()).is_pending());
    assert!(second.as_mut().poll(&mut noop_cx()).is_pending());

    assert!(publisher.close());
    let Poll::Ready(Err(Closed(back))) = first.as_mut().poll(&mut noop_cx()) else {
        panic!("a waiting publisher must get its item back");
    };
    assert_eq!(back, 1);
    assert_eq!(block_on(second).unwrap_err(), Closed(2));
    // And so does anyone who comes later, on any path.
    assert_eq!(block_on(others.enqueue(3)).unwrap_err(), Closed(3));
    assert_eq!(
        others.try_enqueue(4).unwrap_err(),
        TryEnqueueError::Closed(4)
    );
    assert_eq!(others.enqueue_urgent(5), Err(Closed(5)));
}

#[test]
fn a_closed_queue_still_hands_what_was_queued_to_the_writer() {
    let (publisher, batches) = intake::<u32, u64>(4);
    let ticket = publisher.try_enqueue(1).unwrap();
    publisher.enqueue_urgent(2).unwrap();
    publisher.close();
    assert!(batches.is_closed());

    let batch = block_on(batches.next()).unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1, 2]);
    for entry in batch {
        entry.answer(10);
    }
    assert_eq!(block_on(ticket), Ok(10));
    assert!(block_on(batches.next()).is_none());
    assert!(batches.try_next().is_none());
}

#[test]
fn dropping_an_enqueue_future_while_it_waits_leaves_nothing_queued() {
    let (publisher, batches) = intake::<u32, ()>(1);
    let _queued = publisher.try_enqueue(1).unwrap();
    {
        let mut waiting = pin!(publisher.enqueue(2));
        assert!(waiting.as_mut().poll(&mut noop_cx()).is_pending());
    } // dropped, as a timeout around it would
    assert_eq!(publisher.len(), 1);

    let batch = batches.try_next().unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1]);
    assert!(batches.try_next().is_none());
    // It holds no room either: exactly the capacity is free again.
    let _again = publisher.try_enqueue(3).unwrap();
    assert_eq!(
        publisher.try_enqueue(4).unwrap_err(),
        TryEnqueueError::Full(4)
    );
}

#[test]
fn a_dropped_batch_entry_answers_its_ticket_unanswered() {
    let (publisher, batches) = intake::<&str, u64>(4);
    let answered = block_on(publisher.enqueue("answered")).unwrap();
    let dropped = block_on(publisher.enqueue("dropped")).unwrap();

    let mut entries = block_on(batches.next()).unwrap().into_iter();
    entries.next().unwrap().answer(1);
    let entry = entries.next().unwrap();
    assert_eq!(*entry.item(), "dropped");
    drop(entry);

    assert_eq!(block_on(answered), Ok(1));
    assert_eq!(block_on(dropped), Err(Unanswered));
}

#[test]
fn dropping_the_writer_answers_queued_publishers_and_closes_the_queue() {
    let (publisher, batches) = intake::<u32, ()>(1);
    let queued = publisher.try_enqueue(1).unwrap();
    let mut waiting = pin!(publisher.enqueue(2));
    assert!(waiting.as_mut().poll(&mut noop_cx()).is_pending());

    drop(batches);
    assert!(publisher.is_closed());
    assert_eq!(block_on(queued), Err(Unanswered));
    assert_eq!(block_on(waiting).unwrap_err(), Closed(2));
}

#[test]
fn publishers_on_many_threads_are_each_answered_in_their_order_in_bounded_batches() {
    const THREADS: u64 = 4;
    const EACH: u64 = 300;
    const CAPACITY: usize = 8;
    let (publisher, batches) = intake::<(u64, u64), u64>(CAPACITY);

    let writer = thread::spawn(move || {
        let mut answered = 0u64;
        while let Some(batch) = block_on(batches.next()) {
            assert!(batch.len() <= CAPACITY, "a batch exceeds the capacity");
            for entry in batch {
                answered += 1;
                entry.answer(answered);
            }
        }
        answered
    });
    let publishers: Vec<_> = (0..THREADS)
        .map(|t| {
            let publisher = publisher.clone();
            thread::spawn(move || {
                // All queued before any answer is awaited, so the queue
                // fills and publishers keep waiting for room.
                let tickets: Vec<_> = (0..EACH)
                    .map(|i| block_on(publisher.enqueue((t, i))).unwrap())
                    .collect();
                let answers: Vec<u64> = tickets.into_iter().map(|t| block_on(t).unwrap()).collect();
                assert!(
                    answers.windows(2).all(|w| w[0] < w[1]),
                    "answers follow each publisher's order"
                );
            })
        })
        .collect();
    drop(publisher);
    for p in publishers {
        p.join().unwrap();
    }
    assert_eq!(writer.join().unwrap(), THREADS * EACH);
}

#[test]
fn the_intake_and_its_futures_can_move_between_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let (publisher, batches) = intake::<String, u64>(1);
    send_sync(&publisher);
    send_sync(&batches);
    let enqueue = publisher.enqueue("x".to_owned());
    send(&enqueue);
    let ticket = block_on(enqueue).unwrap();
    send(&ticket);
    let next = batches.next();
    send(&next);
    let batch = block_on(next).unwrap();
    send(&batch);
    batch.into_iter().for_each(|entry| entry.answer(1));
    assert_eq!(block_on(ticket), Ok(1));
}
