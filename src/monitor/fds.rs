//! File descriptors handed to the monitors (QEMU's monitor/fds.c): those a
//! client passes over a unix socket (SCM_RIGHTS) with a request, those a
//! monitor keeps by name (`getfd`), and the process-wide fd sets
//! (`add-fd`), with QEMU's numbering and clean-up rules.

use std::os::fd::{AsRawFd, OwnedFd};

/// The descriptors of one monitor.
#[derive(Debug, Default)]
pub struct MonitorFds {
    /// Passed by the client with its latest message, not taken yet.
    received: Vec<OwnedFd>,
    /// Kept by `getfd`, by name.
    named: Vec<(String, OwnedFd)>,
}

impl MonitorFds {
    /// Descriptors that came with the client's input: they replace (and
    /// close) earlier ones no command took, as in QEMU.
    pub fn set_received(&mut self, fds: Vec<OwnedFd>) {
        self.received = fds;
    }

    /// The client went away: what it passed and nobody took is closed.
    pub fn clear_received(&mut self) {
        self.received.clear();
    }

    /// The first descriptor passed; the others of its message are closed
    /// (QEMU's `qemu_chr_fe_get_msgfd`).
    pub fn take_received(&mut self) -> Option<OwnedFd> {
        let mut fds = std::mem::take(&mut self.received).into_iter();
        fds.next()
    }

    /// Keeps `fd` as `name`, closing one kept under that name before.
    pub fn keep(&mut self, name: String, fd: OwnedFd) {
        match self.named.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = fd,
            None => self.named.push((name, fd)),
        }
    }

    /// Hands over the descriptor kept as `name` (QEMU's `monitor_get_fd`).
    pub fn take(&mut self, name: &str) -> Option<OwnedFd> {
        let index = self.named.iter().position(|(n, _)| n == name)?;
        Some(self.named.remove(index).1)
    }
}

/// One descriptor in a set.
#[derive(Debug)]
struct SetMember {
    fd: OwnedFd,
    opaque: Option<String>,
    /// `remove-fd` asked for it; it is closed when the machine runs.
    removed: bool,
}

#[derive(Debug)]
struct FdSet {
    id: i64,
    /// Newest first, as QEMU's list.
    members: Vec<SetMember>,
}

impl FdSet {
    /// QEMU's `monitor_fdset_cleanup`: while the machine runs, closes the
    /// removed descriptors, and all of them once no monitor has a client.
    fn clean_up(&mut self, running: bool, clients_connected: bool) {
        if running {
            self.members.retain(|m| !m.removed && clients_connected);
        }
    }
}

/// One set as `query-fdsets` shows it: its id and its descriptors (number,
/// opaque text) in the order QEMU lists them.
pub type FdSetListing = (i64, Vec<(i64, Option<String>)>);

/// Why an fd set operation failed, in QEMU's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FdSetError {
    #[error("Parameter 'fdset-id' expects a non-negative value")]
    NegativeId,
    #[error("File descriptor named 'fdset-id:{0}' not found")]
    SetNotFound(i64),
    #[error("File descriptor named 'fdset-id:{0}, fd:{1}' not found")]
    FdNotFound(i64, i64),
}

/// The process's fd sets, ordered by id.
#[derive(Debug, Default)]
pub struct FdSets {
    sets: Vec<FdSet>,
}

impl FdSets {
    /// Adds `fd` to set `id`, or to a new set with the lowest free id;
    /// returns the set's id and the descriptor's number.
    pub fn add(
        &mut self,
        fd: OwnedFd,
        id: Option<i64>,
        opaque: Option<String>,
    ) -> Result<(i64, i64), FdSetError> {
        let index = match id {
            Some(id) => match self.sets.binary_search_by_key(&id, |s| s.id) {
                Ok(index) => index,
                Err(_) if id < 0 => return Err(FdSetError::NegativeId),
                Err(index) => self.new_set(index, id),
            },
            None => {
                // The first id not taken, counting up from 0.
                let free = self
                    .sets
                    .iter()
                    .enumerate()
                    .find(|(i, s)| s.id != *i as i64)
                    .map_or(self.sets.len(), |(i, _)| i);
                self.new_set(free, free as i64)
            }
        };
        let set = &mut self.sets[index];
        let number = i64::from(fd.as_raw_fd());
        set.members.insert(
            0,
            SetMember {
                fd,
                opaque,
                removed: false,
            },
        );
        Ok((set.id, number))
    }

    fn new_set(&mut self, index: usize, id: i64) -> usize {
        self.sets.insert(
            index,
            FdSet {
                id,
                members: Vec::new(),
            },
        );
        index
    }

    /// Marks descriptor `fd` of set `id` (or the whole set) removed; as
    /// QEMU, descriptors are closed only while the machine runs.
    pub fn remove(&mut self, id: i64, fd: Option<i64>, running: bool) -> Result<(), FdSetError> {
        let not_found = || match fd {
            Some(fd) => FdSetError::FdNotFound(id, fd),
            None => FdSetError::SetNotFound(id),
        };
        let index = self
            .sets
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(not_found)?;
        let set = &mut self.sets[index];
        match fd {
            Some(fd) => {
                let member = set
                    .members
                    .iter_mut()
                    .find(|m| i64::from(m.fd.as_raw_fd()) == fd)
                    .ok_or_else(not_found)?;
                member.removed = true;
            }
            None => set.members.iter_mut().for_each(|m| m.removed = true),
        }
        // The monitor asking has a client: only removed ones may go.
        set.clean_up(running, true);
        if set.members.is_empty() {
            self.sets.remove(index);
        }
        Ok(())
    }

    /// A monitor's client left: every set is cleaned up (see
    /// `FdSet::clean_up`).
    pub fn clean_up(&mut self, running: bool, clients_connected: bool) {
        for set in &mut self.sets {
            set.clean_up(running, clients_connected);
        }
        self.sets.retain(|s| !s.members.is_empty());
    }

    /// The sets as `query-fdsets` lists them: highest id first, each with
    /// its descriptors oldest first.
    pub fn list(&self) -> Vec<FdSetListing> {
        self.sets
            .iter()
            .rev()
            .map(|set| {
                let members = set
                    .members
                    .iter()
                    .rev()
                    .map(|m| (i64::from(m.fd.as_raw_fd()), m.opaque.clone()))
                    .collect();
                (set.id, members)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some_fd() -> OwnedFd {
        std::fs::File::open("/dev/null").expect("/dev/null").into()
    }

    fn ids(sets: &FdSets) -> Vec<i64> {
        sets.list().iter().map(|(id, _)| *id).collect()
    }

    /// The numbering of QEMU 7.2's add-fd: the lowest free id without
    /// `fdset-id`, listings highest set first (as recorded from QEMU:
    /// sets 0, 1, 5 then a new one gets 2).
    #[test]
    fn new_sets_take_the_lowest_free_id() {
        let mut sets = FdSets::default();
        assert_eq!(sets.add(some_fd(), None, None).map(|r| r.0), Ok(0));
        assert_eq!(sets.add(some_fd(), None, None).map(|r| r.0), Ok(1));
        assert_eq!(sets.add(some_fd(), Some(5), None).map(|r| r.0), Ok(5));
        assert_eq!(sets.add(some_fd(), Some(0), None).map(|r| r.0), Ok(0));
        assert_eq!(sets.add(some_fd(), None, None).map(|r| r.0), Ok(2));
        assert_eq!(ids(&sets), [5, 2, 1, 0]);
        assert_eq!(
            sets.add(some_fd(), Some(-1), None),
            Err(FdSetError::NegativeId)
        );
    }

    #[test]
    fn members_are_listed_oldest_first() {
        let mut sets = FdSets::default();
        let (_, first) = sets.add(some_fd(), Some(3), Some("a".into())).unwrap();
        let (_, second) = sets.add(some_fd(), Some(3), None).unwrap();
        assert_eq!(
            sets.list(),
            [(3, vec![(first, Some("a".to_string())), (second, None)])]
        );
    }

    #[test]
    fn removal_waits_for_a_running_machine() {
        let mut sets = FdSets::default();
        let (id, fd) = sets.add(some_fd(), None, None).unwrap();
        assert_eq!(sets.remove(id, Some(fd), false), Ok(()));
        assert_eq!(ids(&sets), [id]);
        assert_eq!(
            sets.remove(id, Some(fd + 1000), true),
            Err(FdSetError::FdNotFound(id, fd + 1000))
        );
        assert_eq!(sets.remove(id, None, true), Ok(()));
        assert!(sets.list().is_empty());
        assert_eq!(
            sets.remove(id, None, true),
            Err(FdSetError::SetNotFound(id))
        );
    }

    #[test]
    fn removal_closes_only_in_the_set_it_names() {
        let mut sets = FdSets::default();
        let (zero, _) = sets.add(some_fd(), None, None).unwrap();
        let (one, _) = sets.add(some_fd(), None, None).unwrap();
        // Stopped: set 0's descriptor is only marked.
        sets.remove(zero, None, false).unwrap();
        // Running: set 1 goes, set 0 keeps its marked descriptor.
        sets.remove(one, None, true).unwrap();
        assert_eq!(ids(&sets), [zero]);
    }

    #[test]
    fn the_last_client_leaving_a_running_machine_closes_every_set() {
        let mut sets = FdSets::default();
        sets.add(some_fd(), None, None).unwrap();
        sets.clean_up(false, false);
        assert_eq!(ids(&sets), [0]);
        sets.clean_up(true, true);
        assert_eq!(ids(&sets), [0]);
        sets.clean_up(true, false);
        assert!(sets.list().is_empty());
    }

    #[test]
    fn named_descriptors_replace_and_hand_over() {
        let mut fds = MonitorFds::default();
        assert!(fds.take_received().is_none());
        fds.set_received(vec![some_fd(), some_fd()]);
        let first = fds.take_received().expect("first passed fd");
        // The second one of that message was closed with the take.
        assert!(fds.take_received().is_none());
        fds.keep("a".into(), first);
        fds.keep("a".into(), some_fd());
        assert!(fds.take("a").is_some());
        assert!(fds.take("a").is_none());
    }
}
