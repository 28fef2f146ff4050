import { Module } from '@nestjs/common';

/**
 * The front door. Routing of DataPlane calls and the agent platform's
 * services to data-plane nodes comes with the router issue; until then the
 * router serves health and reflection only, and opens no database.
 */
@Module({})
export class RouterModule {}
