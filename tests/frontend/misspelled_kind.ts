// Must NOT compile: `wait_evnt` is not a stage kind.
import type { CreateWorkflowMutationVariables } from './generated/graphql';

export const variables: CreateWorkflowMutationVariables = {
  workflow: { stages: [{ wait_evnt: { event: 'approved' } }] },
};
