//! Which port to connect to next (SPEC §25 "Alternate ports"): when 1863 fails, the official
//! client tried 6660, 6661, 6662, 6665, 6668, 6669, 80 and 443 in that order and remembered the
//! port that worked, trying it first the next time. Networks that blocked 1863 reached the
//! service that way. The host persists the port that worked (`Session::port`) and hands it back
//! as [`super::Config::preferred_port`].

/// SPEC §25, in the official client's order.
pub const FALLBACK_PORTS: [u16; 8] = [6660, 6661, 6662, 6665, 6668, 6669, 80, 443];

/// The ports of one `connect`, in the order to try, and the one that worked.
#[derive(Debug, Clone, Default)]
pub struct PortPlan {
    ports: Vec<u16>,
    index: usize,
    good: Option<u16>,
}

impl PortPlan {
    /// `requested` alone, or — when `alternates` and the host asked for the service's port
    /// 1863 — `preferred` (a port that worked before), 1863, then SPEC §25's fallbacks.
    pub fn new(requested: u16, preferred: Option<u16>, alternates: bool) -> PortPlan {
        let mut ports = Vec::with_capacity(10);
        if alternates && requested == super::config::DEFAULT_PORT {
            ports.extend(preferred.filter(|p| *p != 0));
            ports.push(requested);
            ports.extend(FALLBACK_PORTS);
            let mut seen = Vec::with_capacity(ports.len());
            ports.retain(|p| {
                !seen.contains(p) && {
                    seen.push(*p);
                    true
                }
            });
        } else {
            ports.push(requested);
        }
        PortPlan { ports, index: 0, good: None }
    }

    /// The port to connect to now.
    pub fn current(&self) -> u16 {
        self.ports.get(self.index).copied().unwrap_or(0)
    }

    /// Moves on after a failed connect; `None` when every port has been tried.
    pub fn advance(&mut self) -> Option<u16> {
        (self.index + 1 < self.ports.len()).then(|| {
            self.index += 1;
            self.ports[self.index]
        })
    }

    /// The current port connected: it is tried first on a reconnect.
    pub fn succeeded(&mut self) {
        let p = self.current();
        self.good = Some(p);
        self.ports.retain(|x| *x != p);
        self.ports.insert(0, p);
        self.index = 0;
    }

    /// A new attempt (a reconnect) starts from the first port again.
    pub fn restart(&mut self) {
        self.index = 0;
    }

    /// The port of the last connection that opened, if any.
    pub fn good(&self) -> Option<u16> {
        self.good
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(mut p: PortPlan) -> Vec<u16> {
        let mut out = vec![p.current()];
        while let Some(x) = p.advance() {
            out.push(x);
        }
        out
    }

    #[test]
    fn port_1863_falls_back_in_the_official_order_and_starts_with_the_one_that_worked() {
        let all = [1863, 6660, 6661, 6662, 6665, 6668, 6669, 80, 443];
        assert_eq!(order(PortPlan::new(1863, None, true)), all);
        assert_eq!(order(PortPlan::new(1863, Some(1863), true)), all, "no port twice");
        assert_eq!(order(PortPlan::new(1863, Some(443), true))[..3], [443, 1863, 6660]);
        assert_eq!(order(PortPlan::new(1863, None, false)), [1863], "switched off");
        assert_eq!(order(PortPlan::new(5000, None, true)), [5000], "another port is the host's choice alone");
        let mut p = PortPlan::new(1863, None, true);
        p.advance();
        p.advance();
        p.succeeded();
        assert_eq!(p.good(), Some(6661));
        p.restart();
        assert_eq!(order(p)[..3], [6661, 1863, 6660], "a reconnect tries what worked first");
    }
}
