import { InitialSchema1795392000000 } from './1795392000000-InitialSchema.js';
import { Invocations1795400000000 } from './1795400000000-Invocations.js';
import { AsyncInvocations1795410000000 } from './1795410000000-AsyncInvocations.js';
import { FunctionSandbox1795420000000 } from './1795420000000-FunctionSandbox.js';
import { InvocationKinds1795430000000 } from './1795430000000-InvocationKinds.js';
import { VersionsAndAliases1795440000000 } from './1795440000000-VersionsAndAliases.js';
import { State1795450000000 } from './1795450000000-State.js';
import { StateCommitFunctions1795460000000 } from './1795460000000-StateCommitFunctions.js';
import { StateGroupCommit1795470000000 } from './1795470000000-StateGroupCommit.js';
import { ClusterNodes1795480000000 } from './1795480000000-ClusterNodes.js';
import { AgentRegistry1795490000000 } from './1795490000000-AgentRegistry.js';
import { InvocationProgress1795500000000 } from './1795500000000-InvocationProgress.js';
import { InvocationTraceparent1795520000000 } from './1795520000000-InvocationTraceparent.js';
import { Workflows1795510000000 } from './1795510000000-Workflows.js';
import { StateCheaperStatements1795530000000 } from './1795530000000-StateCheaperStatements.js';
import { FunctionConcurrency1795540000000 } from './1795540000000-FunctionConcurrency.js';

/** Every migration, oldest first. */
export const migrations = [
  InitialSchema1795392000000,
  Invocations1795400000000,
  AsyncInvocations1795410000000,
  FunctionSandbox1795420000000,
  InvocationKinds1795430000000,
  VersionsAndAliases1795440000000,
  State1795450000000,
  StateCommitFunctions1795460000000,
  StateGroupCommit1795470000000,
  ClusterNodes1795480000000,
  AgentRegistry1795490000000,
  InvocationProgress1795500000000,
  Workflows1795510000000,
  InvocationTraceparent1795520000000,
  StateCheaperStatements1795530000000,
  FunctionConcurrency1795540000000,
];
