//! The connection caps: a slot in the process-wide total (waited for before `accept`, so an
//! over-cap connection waits in the listen queue) and a place under the per-address cap (an
//! over-cap connection is closed at once). A [`Permit`] holds both until the socket closes.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(super) struct Gate {
    total: Arc<Semaphore>,
    /// Connections admitted and not yet closed (the slot waiting for the next accept is not one).
    open: AtomicUsize,
    per_ip_max: usize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection's place; released when dropped (when its socket closes, upgraded or not).
pub(super) struct Permit {
    slot: Option<OwnedSemaphorePermit>,
    gate: Arc<Gate>,
    /// The address counted, unless exempt.
    counted: Option<IpAddr>,
}

/// The address a connection is counted under: IPv4 (IPv4-mapped IPv6 included) as it is,
/// IPv6 by its /64, which one client usually holds whole.
pub(super) fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

impl Gate {
    pub(super) fn new(max_total: usize, per_ip_max: usize) -> Self {
        Self {
            total: Arc::new(Semaphore::new(max_total)),
            open: AtomicUsize::new(0),
            per_ip_max,
            per_ip: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for room under the total cap.
    #[allow(
        clippy::expect_used,
        reason = "the gate owns its semaphore and never closes it"
    )]
    pub(super) async fn slot(&self) -> OwnedSemaphorePermit {
        self.total
            .clone()
            .acquire_owned()
            .await
            .expect("the gate never closes its semaphore")
    }

    /// A place for a connection from `ip`, or `None` when that address is at its cap.
    /// Addresses in `exempt` (already keyed) only take a slot of the total.
    pub(super) fn admit(
        self: &Arc<Self>,
        slot: OwnedSemaphorePermit,
        ip: IpAddr,
        exempt: &[IpAddr],
    ) -> Option<Permit> {
        let key = client_key(ip);
        let counted = if exempt.contains(&key) {
            None
        } else {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            let n = per_ip.entry(key).or_insert(0);
            if *n >= self.per_ip_max {
                return None;
            }
            *n += 1;
            Some(key)
        };
        self.open.fetch_add(1, Ordering::AcqRel);
        let permit = Permit {
            slot: Some(slot),
            gate: self.clone(),
            counted,
        };
        self.report();
        Some(permit)
    }

    /// Connections open right now.
    pub(super) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn report(&self) {
        metrics::gauge!("http_connections_open").set(self.open() as f64);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(key) = self.counted.take() {
            let mut per_ip = self.gate.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = per_ip.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&key);
                }
            }
        }
        self.slot.take();
        self.gate.open.fetch_sub(1, Ordering::AcqRel);
        self.gate.report();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_at_its_cap_is_refused_until_one_of_its_connections_closes() {
        let gate = Arc::new(Gate::new(10, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = gate.admit(gate.slot().await, a, &[]).unwrap();
        let _second = gate.admit(gate.slot().await, a, &[]).unwrap();
        assert!(gate.admit(gate.slot().await, a, &[]).is_none());
        assert!(
            gate.admit(gate.slot().await, "192.0.2.2".parse().unwrap(), &[])
                .is_some(),
            "another address has its own cap"
        );
        drop(first);
        assert!(gate.admit(gate.slot().await, a, &[]).is_some());
    }

    #[tokio::test]
    async fn exempt_addresses_take_only_a_slot_of_the_total() {
        let gate = Arc::new(Gate::new(3, 1));
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = futures_util::future::join_all((0..3).map(|_| gate.slot()))
            .await
            .into_iter()
            .map(|slot| gate.admit(slot, proxy, &[proxy]).unwrap())
            .collect();
        assert_eq!(gate.open(), 3);
        drop(held);
        assert_eq!(gate.open(), 0);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, client_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
