//! Walks over the task steps of an experiment.

use crate::experiment::Step;

/// How many task steps `steps` holds, at any depth (branches included).
pub fn count_tasks(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            Step::Task(t) => {
                1 + t
                    .task
                    .branches
                    .iter()
                    .map(|b| count_tasks(&b.then))
                    .sum::<usize>()
            }
            Step::Serial(g) | Step::Parallel(g) => count_tasks(&g.steps),
            _ => 0,
        })
        .sum()
}
