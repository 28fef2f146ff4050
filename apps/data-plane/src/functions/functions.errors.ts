import { errorClassFor, type ErrorKind } from '#server';

/** What can go wrong reading a function's definition or code on this node. */
export enum CatalogErrorCode {
  /** The version a call was about to load was replaced or deleted meanwhile. */
  VersionGone = 'FUNCTION_VERSION_GONE',
}

const kinds = {
  [CatalogErrorCode.VersionGone]: 'aborted',
} as const satisfies Record<CatalogErrorCode, ErrorKind>;

export class CatalogError extends errorClassFor(kinds) {}

export const catalogErrors = {
  versionGone: (name: string, version: number) =>
    new CatalogError(
      CatalogErrorCode.VersionGone,
      `function "${name}" changed while version ${version} was loading; try again`,
    ),
};
