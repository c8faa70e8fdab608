// Compiled with `tsc --strict` against the generated types: a typed client of the API.
import type { CreateWorkflowMutationVariables, InstanceQuery, StageInput } from './generated/graphql';
import { InstanceDocument } from './generated/graphql';

const stages: StageInput[] = [
  { delay: { duration: '2s' } },
  { wait_event: { event: 'approved' } },
  {
    send: {
      source: { account: { id: 'world' } },
      destination: { wallet: { name: 'alice', balance: 'main' } },
      amount: { amount: '1500', asset: 'USD/2' },
      allowOverdraft: false,
    },
  },
  { update: { account: { id: 'users:42', metadata: { tier: 'gold' } } } },
];
export const variables: CreateWorkflowMutationVariables = { workflow: { name: 'payout', stages } };

export function stageIDs(data: InstanceQuery): string[] {
  return data.instance?.stages.map((stage) => `${stage.id} ${stage.kind} ${stage.status}`) ?? [];
}

export const document = InstanceDocument;
