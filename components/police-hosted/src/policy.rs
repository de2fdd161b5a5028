//! What the police does when a skill ends: the manifest's `restart` and `restart-limit`.

use hive_manifest::model::Restart;

/// How a skill's guest ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It faulted: QEMU exited with a failure status, or the console showed a fault line.
    Fault,
    /// It powered off cleanly (QEMU exited with status 0).
    Clean,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start it again (this is restart number `n`, from 1).
    Restart(u32),
    /// Leave it stopped: why.
    Stop(StopReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Its policy does not restart it after this ending.
    Policy,
    /// It was restarted `restart-limit` times already.
    Limit(u32),
}

/// One skill's restart record.
#[derive(Clone, Debug)]
pub struct Restarts {
    policy: Restart,
    limit: u32,
    done: u32,
}

impl Restarts {
    pub fn new(policy: Restart, limit: u32) -> Self {
        Self {
            policy,
            limit,
            done: 0,
        }
    }

    /// How many restarts were made.
    pub fn done(&self) -> u32 {
        self.done
    }

    /// Decide after the skill ended `ending`, and count the restart if there is one.
    pub fn after(&mut self, ending: Ending) -> Decision {
        let wanted = match self.policy {
            Restart::Always => true,
            Restart::OnFailure => ending == Ending::Fault,
            Restart::Never => false,
        };
        if !wanted {
            return Decision::Stop(StopReason::Policy);
        }
        if self.done >= self.limit {
            return Decision::Stop(StopReason::Limit(self.limit));
        }
        self.done += 1;
        Decision::Restart(self.done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_restarts_until_the_limit() {
        let mut restarts = Restarts::new(Restart::Always, 2);
        assert_eq!(restarts.after(Ending::Fault), Decision::Restart(1));
        assert_eq!(restarts.after(Ending::Clean), Decision::Restart(2));
        assert_eq!(
            restarts.after(Ending::Fault),
            Decision::Stop(StopReason::Limit(2))
        );
        assert_eq!(restarts.done(), 2);
    }

    #[test]
    fn on_failure_restarts_faults_only_and_never_never() {
        let mut restarts = Restarts::new(Restart::OnFailure, 5);
        assert_eq!(
            restarts.after(Ending::Clean),
            Decision::Stop(StopReason::Policy)
        );
        assert_eq!(restarts.after(Ending::Fault), Decision::Restart(1));
        let mut never = Restarts::new(Restart::Never, 5);
        assert_eq!(
            never.after(Ending::Fault),
            Decision::Stop(StopReason::Policy)
        );
    }

    #[test]
    fn a_limit_of_zero_means_no_restart() {
        let mut restarts = Restarts::new(Restart::Always, 0);
        assert_eq!(
            restarts.after(Ending::Fault),
            Decision::Stop(StopReason::Limit(0))
        );
    }
}
