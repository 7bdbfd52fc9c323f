/**
 * The Compute Engine v1 methods we call, typed with the messages `@google-cloud/compute` generates from
 * Google's own API definitions (the protos behind the REST API). The import is type-only: it vanishes at
 * compile time and the client library is never loaded (rest.ts says why).
 *
 * A method names its request message, the fields its URL path binds and the field its body binds; the rest
 * of the message is its query. So a query parameter or a body field the method does not define, such as
 * `requestId` on `applyUpdatesToInstances`, fails `npm run typecheck`.
 */
import type { protos } from '@google-cloud/compute';

/** A method as RestClient.call takes it: the query parameters and the body it accepts. */
export interface ApiMethod {
  query: object;
  body: unknown;
}

/** The query of a request message: its fields less the path's and the body's (none: every name refused). */
type QueryOf<Req, Taken> = [Exclude<keyof Req, Taken>] extends [never]
  ? Record<string, never>
  : { [K in Exclude<keyof Req, Taken>]?: Exclude<Req[K], null> };

/** One method: `Req` its request message, `Path` the fields its URL binds, `Body` the field its body binds. */
export interface Method<Req, Path extends keyof Req, Body extends keyof Req = never> extends ApiMethod {
  query: QueryOf<Req, Path | Body>;
  body: [Body] extends [never] ? never : Exclude<Req[Body], null | undefined>;
}

/** Resources as the API defines them, for request bodies. */
export type ImageResource = protos.google.cloud.compute.v1.IImage;
export type InstanceTemplateResource = protos.google.cloud.compute.v1.IInstanceTemplate;
export type InstanceGroupManagerResource = protos.google.cloud.compute.v1.IInstanceGroupManager;
export type UpdatePolicyResource = protos.google.cloud.compute.v1.IInstanceGroupManagerUpdatePolicy;
export type DeprecationStatusResource = protos.google.cloud.compute.v1.IDeprecationStatus;

/** The values of `GuestOsFeature.type`, less the enum's two "unset" markers. */
export type GuestOsFeatureType = Exclude<
  keyof typeof protos.google.cloud.compute.v1.GuestOsFeature.Type,
  'UNDEFINED_TYPE' | 'FEATURE_TYPE_UNSPECIFIED'
>;

// Images.
export type ImagesGet = Method<protos.google.cloud.compute.v1.IGetImageRequest, 'project' | 'image'>;
export type ImagesList = Method<protos.google.cloud.compute.v1.IListImagesRequest, 'project'>;
export type ImagesInsert = Method<
  protos.google.cloud.compute.v1.IInsertImageRequest,
  'project',
  'imageResource'
>;
export type ImagesDelete = Method<protos.google.cloud.compute.v1.IDeleteImageRequest, 'project' | 'image'>;
export type ImagesDeprecate = Method<
  protos.google.cloud.compute.v1.IDeprecateImageRequest,
  'project' | 'image',
  'deprecationStatusResource'
>;
export type ImagesSetLabels = Method<
  protos.google.cloud.compute.v1.ISetLabelsImageRequest,
  'project' | 'resource',
  'globalSetLabelsRequestResource'
>;
export type ImagesGetFromFamily = Method<
  protos.google.cloud.compute.v1.IGetFromFamilyImageRequest,
  'project' | 'family'
>;

// Instance templates, global and regional.
export type TemplatesGet =
  | Method<protos.google.cloud.compute.v1.IGetInstanceTemplateRequest, 'project' | 'instanceTemplate'>
  | Method<
      protos.google.cloud.compute.v1.IGetRegionInstanceTemplateRequest,
      'project' | 'region' | 'instanceTemplate'
    >;
export type TemplatesInsert =
  | Method<
      protos.google.cloud.compute.v1.IInsertInstanceTemplateRequest,
      'project',
      'instanceTemplateResource'
    >
  | Method<
      protos.google.cloud.compute.v1.IInsertRegionInstanceTemplateRequest,
      'project' | 'region',
      'instanceTemplateResource'
    >;
export type TemplatesDelete =
  | Method<protos.google.cloud.compute.v1.IDeleteInstanceTemplateRequest, 'project' | 'instanceTemplate'>
  | Method<
      protos.google.cloud.compute.v1.IDeleteRegionInstanceTemplateRequest,
      'project' | 'region' | 'instanceTemplate'
    >;
export type TemplatesAggregatedList = Method<
  protos.google.cloud.compute.v1.IAggregatedListInstanceTemplatesRequest,
  'project'
>;

// Managed instance groups, zonal and regional.
export type GroupsAggregatedList = Method<
  protos.google.cloud.compute.v1.IAggregatedListInstanceGroupManagersRequest,
  'project'
>;
export type GroupsGet =
  | Method<
      protos.google.cloud.compute.v1.IGetInstanceGroupManagerRequest,
      'project' | 'zone' | 'instanceGroupManager'
    >
  | Method<
      protos.google.cloud.compute.v1.IGetRegionInstanceGroupManagerRequest,
      'project' | 'region' | 'instanceGroupManager'
    >;
export type GroupsPatch =
  | Method<
      protos.google.cloud.compute.v1.IPatchInstanceGroupManagerRequest,
      'project' | 'zone' | 'instanceGroupManager',
      'instanceGroupManagerResource'
    >
  | Method<
      protos.google.cloud.compute.v1.IPatchRegionInstanceGroupManagerRequest,
      'project' | 'region' | 'instanceGroupManager',
      'instanceGroupManagerResource'
    >;
export type GroupsListManagedInstances =
  | Method<
      protos.google.cloud.compute.v1.IListManagedInstancesInstanceGroupManagersRequest,
      'project' | 'zone' | 'instanceGroupManager'
    >
  | Method<
      protos.google.cloud.compute.v1.IListManagedInstancesRegionInstanceGroupManagersRequest,
      'project' | 'region' | 'instanceGroupManager'
    >;
export type GroupsApplyUpdatesToInstances =
  | Method<
      protos.google.cloud.compute.v1.IApplyUpdatesToInstancesInstanceGroupManagerRequest,
      'project' | 'zone' | 'instanceGroupManager',
      'instanceGroupManagersApplyUpdatesRequestResource'
    >
  | Method<
      protos.google.cloud.compute.v1.IApplyUpdatesToInstancesRegionInstanceGroupManagerRequest,
      'project' | 'region' | 'instanceGroupManager',
      'regionInstanceGroupManagersApplyUpdatesRequestResource'
    >;

// Instances, disks, projects.
export type InstancesGet = Method<
  protos.google.cloud.compute.v1.IGetInstanceRequest,
  'project' | 'zone' | 'instance'
>;
export type InstancesSetMetadata = Method<
  protos.google.cloud.compute.v1.ISetMetadataInstanceRequest,
  'project' | 'zone' | 'instance',
  'metadataResource'
>;
export type InstancesGetGuestAttributes = Method<
  protos.google.cloud.compute.v1.IGetGuestAttributesInstanceRequest,
  'project' | 'zone' | 'instance'
>;
export type DisksGet = Method<protos.google.cloud.compute.v1.IGetDiskRequest, 'project' | 'zone' | 'disk'>;
export type ProjectsGet = Method<protos.google.cloud.compute.v1.IGetProjectRequest, 'project'>;

// Operations: global, regional or zonal, whichever scope the operation lives in.
export type OperationsWait =
  | Method<protos.google.cloud.compute.v1.IWaitGlobalOperationRequest, 'project' | 'operation'>
  | Method<protos.google.cloud.compute.v1.IWaitRegionOperationRequest, 'project' | 'region' | 'operation'>
  | Method<protos.google.cloud.compute.v1.IWaitZoneOperationRequest, 'project' | 'zone' | 'operation'>;
