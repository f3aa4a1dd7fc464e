//! A fixed pool of inference sessions (generic, so it is testable without a model).
//!
//! `Session::run` needs `&mut Session`, so one session behind a mutex would make every concurrent
//! scan wait for the one in front of it. Each inference takes a free session out of the pool and
//! gives it back when done (also when it panics), so `sessions` inferences run at once and a long
//! text, which takes a session per batch of windows, does not hold one for its whole scan.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

pub struct Pool<T> {
    free: Mutex<Vec<T>>,
    returned: Condvar,
}

impl<T> Pool<T> {
    pub fn new(items: Vec<T>) -> Pool<T> {
        Pool {
            free: Mutex::new(items),
            returned: Condvar::new(),
        }
    }

    fn free_list(&self) -> MutexGuard<'_, Vec<T>> {
        // The list is only pushed to and popped from, which cannot leave it half-changed.
        self.free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An item for one inference, waiting until one is free.
    #[cfg(test)]
    pub fn checkout(&self) -> Pooled<'_, T> {
        self.checkout_until(None)
            .expect("without a deadline, checkout waits until an item is free")
    }

    /// An item, waiting for one to be returned if none is free; `None` once `deadline` passes
    /// first (no deadline: wait as long as it takes).
    pub fn checkout_until(&self, deadline: Option<Instant>) -> Option<Pooled<'_, T>> {
        let mut free = self.free_list();
        loop {
            if let Some(item) = free.pop() {
                return Some(Pooled {
                    pool: self,
                    item: Some(item),
                });
            }
            free = match deadline {
                None => self
                    .returned
                    .wait(free)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    self.returned
                        .wait_timeout(free, left)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }
}

/// An item taken from the pool; it goes back on drop.
pub struct Pooled<'p, T> {
    pool: &'p Pool<T>,
    item: Option<T>,
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.item
            .as_ref()
            .expect("a checked-out item is present until drop")
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item
            .as_mut()
            .expect("a checked-out item is present until drop")
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.pool.free_list().push(item);
            self.pool.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn at_most_pool_size_items_are_out_at_once_and_all_come_back() {
        let pool = Arc::new(Pool::new(vec![0u32, 0]));
        let out = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (pool, out, most) = (pool.clone(), out.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let mut item = pool.checkout();
                        let now = out.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        *item += 1;
                        std::thread::sleep(Duration::from_millis(1));
                        out.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
        let items = pool.free_list();
        assert_eq!(items.len(), 2);
        assert_eq!(items.iter().sum::<u32>(), 30);
    }

    #[test]
    fn two_users_hold_the_two_items_at_the_same_time() {
        let pool = Arc::new(Pool::new(vec![1u32, 2]));
        let (got_tx, got_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (pool, got_tx, release_rx) = (pool.clone(), got_tx.clone(), release_rx.clone());
                std::thread::spawn(move || {
                    let item = pool.checkout();
                    got_tx.send(*item).unwrap();
                    let _ = release_rx
                        .lock()
                        .unwrap()
                        .recv_timeout(Duration::from_secs(10));
                })
            })
            .collect();
        // Both arrive while neither has given its item back.
        let mut got: Vec<u32> = (0..2)
            .map(|_| {
                got_rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("second user waited")
            })
            .collect();
        drop(release_tx);
        for t in threads {
            t.join().unwrap();
        }
        got.sort();
        assert_eq!(got, [1, 2]);
    }

    #[test]
    fn a_checkout_with_a_deadline_gives_up_when_nothing_is_returned() {
        let pool = Pool::new(vec![1u32]);
        let held = pool.checkout();
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        assert!(pool.checkout_until(Some(deadline)).is_none());
        drop(held);
        assert_eq!(
            pool.checkout_until(Some(Instant::now())).as_deref(),
            Some(&1),
            "a free item is handed out even at the deadline"
        );
    }

    #[test]
    fn an_item_comes_back_when_its_user_panics() {
        let pool = Arc::new(Pool::new(vec![7u32]));
        let p = pool.clone();
        let result = std::thread::spawn(move || {
            let _item = p.checkout();
            panic!("inference blew up");
        })
        .join();
        assert!(result.is_err());
        assert_eq!(*pool.checkout(), 7);
    }
}
