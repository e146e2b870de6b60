//! The mode state machine itself: the read-only flag, each component's
//! health with its streak, and the last transition.

use crate::Millis;
use crate::mode::config::ModeConfig;
use crate::mode::inputs::{Component, OperatorInput};
use crate::mode::transition::{Mode, Reason, Transition};

/// Health of one component, with the streak of probes that disagree with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ComponentHealth {
    healthy: bool,
    /// Consecutive probes whose outcome differs from `healthy`; always below
    /// the threshold that would flip it.
    streak: u32,
}

impl ComponentHealth {
    const NEVER_PROBED: ComponentHealth = ComponentHealth {
        healthy: true,
        streak: 0,
    };

    /// Records one probe; returns true if the health flipped.
    fn observe(&mut self, ok: bool, config: &ModeConfig) -> bool {
        if ok == self.healthy {
            self.streak = 0;
            return false;
        }
        // `streak < threshold <= u32::MAX`, so this cannot overflow.
        self.streak += 1;
        let threshold = if self.healthy {
            config.fail_threshold()
        } else {
            config.recover_threshold()
        };
        if self.streak < threshold {
            return false;
        }
        self.healthy = ok;
        self.streak = 0;
        true
    }
}

/// The mode state machine. See the [module docs](crate::mode) for the rules.
///
/// ```
/// use tidings_core::Millis;
/// use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine};
///
/// let mut m = ModeMachine::new(ModeConfig::new(1, 1).unwrap(), false, Millis(0));
/// let t = m.handle_probe(Component::Bus, false, Millis(5)).unwrap();
/// assert_eq!(t.to, Mode::Degraded);
/// assert_eq!(m.last_transition(), &t);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeMachine {
    config: ModeConfig,
    read_only: bool,
    health: [ComponentHealth; Component::ALL.len()],
    /// The last change of mode; `last.to` is the current mode.
    last: Transition,
}

impl ModeMachine {
    /// A machine in [`Mode::ReadOnly`] if `initial_read_only`, else in
    /// [`Mode::Normal`]; every component starts healthy. The
    /// [`last_transition`](Self::last_transition) is a [`Reason::Startup`]
    /// snapshot with `from == to` at `now`.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Mode, ModeConfig, ModeMachine, Reason};
    ///
    /// let m = ModeMachine::new(ModeConfig::default(), true, Millis(100));
    /// let t = m.last_transition();
    /// assert_eq!((t.from, t.to, t.reason, t.at), (Mode::ReadOnly, Mode::ReadOnly, Reason::Startup, Millis(100)));
    /// ```
    pub fn new(config: ModeConfig, initial_read_only: bool, now: Millis) -> Self {
        let mode = if initial_read_only {
            Mode::ReadOnly
        } else {
            Mode::Normal
        };
        ModeMachine {
            config,
            read_only: initial_read_only,
            health: [ComponentHealth::NEVER_PROBED; Component::ALL.len()],
            last: Transition {
                from: mode,
                to: mode,
                reason: Reason::Startup,
                at: now,
            },
        }
    }

    /// The configuration the machine was created with.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine};
    ///
    /// let config = ModeConfig::new(4, 4).unwrap();
    /// assert_eq!(ModeMachine::new(config, false, Millis(0)).config(), config);
    /// ```
    pub const fn config(&self) -> ModeConfig {
        self.config
    }

    /// The current mode.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, OperatorInput};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::new(1, 1).unwrap(), false, Millis(0));
    /// m.handle_probe(Component::Storage, false, Millis(1));
    /// m.handle_operator(OperatorInput::Set, Millis(2));
    /// // Read-only wins over degraded.
    /// assert_eq!(m.mode(), Mode::ReadOnly);
    /// ```
    pub const fn mode(&self) -> Mode {
        self.last.to
    }

    /// Whether the operator's read-only flag is set.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine, OperatorInput};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
    /// assert!(!m.is_read_only());
    /// m.handle_operator(OperatorInput::Toggle, Millis(1));
    /// assert!(m.is_read_only());
    /// ```
    pub const fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether `component` is currently healthy; a component never probed is.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Component, ModeConfig, ModeMachine, OperatorInput};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::new(1, 1).unwrap(), true, Millis(0));
    /// assert!(m.health(Component::Bus));
    /// // While read-only a failing probe changes no mode, but health still moves.
    /// assert_eq!(m.handle_probe(Component::Bus, false, Millis(1)), None);
    /// assert!(!m.health(Component::Bus));
    /// ```
    pub const fn health(&self, component: Component) -> bool {
        self.health[component.index()].healthy
    }

    /// The last change of mode, or the [`Reason::Startup`] snapshot if there
    /// has been none: what a new subscriber should receive.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine, OperatorInput, Reason};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
    /// // A no-op input leaves the snapshot as it was.
    /// assert_eq!(m.handle_operator(OperatorInput::Clear, Millis(9)), None);
    /// assert_eq!(m.last_transition().reason, Reason::Startup);
    /// assert_eq!(m.last_transition().at, Millis(0));
    /// ```
    pub const fn last_transition(&self) -> &Transition {
        &self.last
    }

    /// Applies an operator input to the read-only flag at time `now`.
    ///
    /// Returns the transition if the mode changed: setting the flag always goes
    /// to [`Mode::ReadOnly`] ([`Reason::OperatorReadOnly`]); clearing it goes to
    /// [`Mode::Degraded`] if a component is unhealthy, else to [`Mode::Normal`]
    /// (both [`Reason::OperatorWritable`]). Setting when set, or clearing when
    /// clear, returns `None`.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Mode, ModeConfig, ModeMachine, OperatorInput, Reason};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
    /// let t = m.handle_operator(OperatorInput::Set, Millis(10)).unwrap();
    /// assert_eq!((t.from, t.to, t.reason, t.at), (Mode::Normal, Mode::ReadOnly, Reason::OperatorReadOnly, Millis(10)));
    /// // Setting again is a no-op.
    /// assert_eq!(m.handle_operator(OperatorInput::Set, Millis(20)), None);
    /// ```
    pub fn handle_operator(&mut self, input: OperatorInput, now: Millis) -> Option<Transition> {
        let read_only = match input {
            OperatorInput::Set => true,
            OperatorInput::Clear => false,
            OperatorInput::Toggle => !self.read_only,
        };
        if read_only == self.read_only {
            return None;
        }
        self.read_only = read_only;
        let reason = if read_only {
            Reason::OperatorReadOnly
        } else {
            Reason::OperatorWritable
        };
        self.transition(reason, now)
    }

    /// Records the outcome of one health probe of `component` at time `now`.
    ///
    /// The component's health is updated with hysteresis (see [`ModeConfig`])
    /// even when the mode does not change. Returns the transition, with reason
    /// `StorageUnhealthy`, `StorageRecovered`, `BusUnhealthy` or `BusRecovered`,
    /// only if the mode changed.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, Reason};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::new(2, 2).unwrap(), false, Millis(0));
    /// assert_eq!(m.handle_probe(Component::Storage, false, Millis(1)), None);
    /// // A success in between resets the failure streak...
    /// assert_eq!(m.handle_probe(Component::Storage, true, Millis(2)), None);
    /// assert_eq!(m.handle_probe(Component::Storage, false, Millis(3)), None);
    /// // ...so it takes two more consecutive failures.
    /// let t = m.handle_probe(Component::Storage, false, Millis(4)).unwrap();
    /// assert_eq!((t.to, t.reason, t.at), (Mode::Degraded, Reason::StorageUnhealthy, Millis(4)));
    /// ```
    pub fn handle_probe(
        &mut self,
        component: Component,
        ok: bool,
        now: Millis,
    ) -> Option<Transition> {
        let flipped = self.health[component.index()].observe(ok, &self.config);
        if !flipped {
            return None;
        }
        self.transition(component.reason(ok), now)
    }

    /// The mode the current flag and health call for, by precedence.
    fn derived_mode(&self) -> Mode {
        if self.read_only {
            Mode::ReadOnly
        } else if self.health.iter().any(|h| !h.healthy) {
            Mode::Degraded
        } else {
            Mode::Normal
        }
    }

    /// Moves to the derived mode; a transition only if it differs.
    fn transition(&mut self, reason: Reason, now: Millis) -> Option<Transition> {
        let from = self.mode();
        let to = self.derived_mode();
        if from == to {
            return None;
        }
        self.last = Transition {
            from,
            to,
            reason,
            at: now,
        };
        Some(self.last)
    }
}
