import { DomainError } from '#server';

export class FunctionNotFoundError extends DomainError {
  constructor(name: string) {
    super('not_found', `function "${name}" not found`);
  }
}

export class FunctionExistsError extends DomainError {
  constructor(name: string) {
    super('already_exists', `function "${name}" already exists`);
  }
}
