//! The parsed pattern compiled into a Thompson automaton whose every edge
//! points forward: the states are numbered so that a state only ever leads
//! to states of higher numbers, the start is state 0 and the match state
//! the last. No state is visited twice on the way through, so the matcher
//! runs one ascending sweep of its state set per byte (see `Pattern::run`).

use std::collections::HashMap;

use super::limits::PATTERN_MAX_STATES;
use super::syntax::{ByteSet, Node};

// State numbers are `u16`s.
const _: () = assert!(PATTERN_MAX_STATES <= 1 << 16);

/// One state of the automaton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Takes one byte of the set numbered `set`, then goes on at `next`.
    Byte { set: u16, next: u16 },
    /// Goes on at both, taking no byte: the start of an alternation or of
    /// an optional copy in a repetition.
    Fork(u16, u16),
    /// The whole pattern has matched.
    Match,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Program {
    /// The states, start first and [`State::Match`] last.
    pub(super) states: Vec<State>,
    /// The byte sets the states take, each once.
    pub(super) sets: Vec<ByteSet>,
    /// The most bytes a way from the start to the match takes.
    pub(super) longest: usize,
}

/// Compiles `node`, whose states with the match state are fewer than
/// [`PATTERN_MAX_STATES`] (as the parser ensures).
pub(super) fn compile(node: &Node) -> Program {
    // Built from the end back: each part is laid out knowing the state it
    // goes on to, so it is laid out after that state, and numbering the
    // states in reverse makes every edge point forward.
    let mut builder = Builder {
        states: vec![State::Match],
        sets: Vec::new(),
        set_numbers: HashMap::new(),
    };
    builder.emit(node, 0);
    let last = builder.states.len() - 1;
    let flip = |number: u16| state_number(last - usize::from(number));
    let states: Vec<State> = builder
        .states
        .iter()
        .rev()
        .map(|state| match *state {
            State::Byte { set, next } => State::Byte {
                set,
                next: flip(next),
            },
            State::Fork(first, second) => State::Fork(flip(first), flip(second)),
            State::Match => State::Match,
        })
        .collect();
    // The most bytes from each state to the match, from the last state
    // back: every edge points forward, so the states it leads to are done.
    let mut longest_from = vec![0usize; states.len()];
    for (number, state) in states.iter().enumerate().rev() {
        longest_from[number] = match *state {
            State::Byte { next, .. } => 1 + longest_from[usize::from(next)],
            State::Fork(first, second) => {
                longest_from[usize::from(first)].max(longest_from[usize::from(second)])
            }
            State::Match => 0,
        };
    }
    Program {
        states,
        sets: builder.sets,
        longest: longest_from[0],
    }
}

/// A state's number as the automaton stores it.
fn state_number(index: usize) -> u16 {
    debug_assert!(index < PATTERN_MAX_STATES);
    index as u16
}

/// The automaton being laid out, in reverse.
struct Builder {
    states: Vec<State>,
    sets: Vec<ByteSet>,
    set_numbers: HashMap<ByteSet, u16>,
}

impl Builder {
    fn push(&mut self, state: State) -> u16 {
        self.states.push(state);
        state_number(self.states.len() - 1)
    }

    /// Lays out `node` to go on at `next`, and returns its entry.
    fn emit(&mut self, node: &Node, next: u16) -> u16 {
        match node {
            Node::Byte(set) => {
                let count = self.sets.len();
                let set_number = *self
                    .set_numbers
                    .entry(*set)
                    .or_insert_with(|| state_number(count));
                if usize::from(set_number) == count {
                    self.sets.push(*set);
                }
                self.push(State::Byte {
                    set: set_number,
                    next,
                })
            }
            Node::Sequence(parts) => parts
                .iter()
                .rev()
                .fold(next, |next, part| self.emit(part, next)),
            Node::Alternation(alternatives) => {
                let entries: Vec<u16> = alternatives
                    .iter()
                    .map(|alternative| self.emit(alternative, next))
                    .collect();
                let (&last, others) = entries.split_last().unwrap_or((&next, &[]));
                others
                    .iter()
                    .rev()
                    .fold(last, |rest, &entry| self.push(State::Fork(entry, rest)))
            }
            Node::Repeat { node, min, max } => {
                // `a{2,4}` is laid out as `a a (a (a)?)?`: each optional
                // copy may skip to the end, so no state is repeated.
                let mut entry = next;
                for _ in 0..max - min {
                    let copy = self.emit(node, entry);
                    entry = self.push(State::Fork(copy, next));
                }
                for _ in 0..*min {
                    entry = self.emit(node, entry);
                }
                entry
            }
        }
    }
}
