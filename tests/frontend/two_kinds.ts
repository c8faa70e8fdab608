// Must NOT compile: a stage has exactly one kind (@oneOf).
import type { CreateWorkflowMutationVariables } from './generated/graphql';

export const variables: CreateWorkflowMutationVariables = {
  workflow: { stages: [{ delay: { duration: '1s' }, wait_event: { event: 'approved' } }] },
};
